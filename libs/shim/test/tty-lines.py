#!/usr/bin/env python3
# Test helper: runs COMMAND with a new pty as its controlling terminal (echo
# off) and stderr as a pipe, like qubesd, but answers each prompt (any stderr
# text ending in ": ") with the next of the given LINES, so that mismatching
# confirmations can be tested. Relays all stderr; exits with COMMAND's status.
# usage: tty-lines.py LINE... -- COMMAND [ARG...]
import fcntl, os, sys, termios

args = sys.argv[1:]
sep = args.index("--")
lines, cmd = args[:sep], args[sep + 1:]
master, slave = os.openpty()
attrs = termios.tcgetattr(slave)
attrs[3] &= ~(termios.ECHO | termios.ECHONL)
termios.tcsetattr(slave, termios.TCSANOW, attrs)
err_r, err_w = os.pipe()
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    os.dup2(err_w, 2)
    for fd in (master, err_r, err_w, slave):
        os.close(fd)
    os.execvp(cmd[0], cmd)
os.close(slave)
os.close(err_w)
pending = b""
while True:
    b = os.read(err_r, 1)
    if not b:
        break
    sys.stderr.buffer.write(b)
    sys.stderr.buffer.flush()
    pending += b
    if pending.endswith(b": ") and lines:
        os.write(master, lines.pop(0).encode() + b"\n")
        pending = b""
    elif b == b"\n":
        pending = b""
_, status = os.waitpid(pid, 0)
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
