#!/usr/bin/env python3
# Test infrastructure for the simulated dom0 (no Qubes here).
#
# Runs a command the way qubesd and qvm-backup-restore run scrypt (Qubes
# backup format v4): a new pty is made the command's controlling terminal
# with echo off, stdin/stdout are inherited, stderr is a pipe. The exact
# prompt text is read from that pipe and the passphrase plus "\n" is written
# to the pty after each prompt. Remaining stderr is relayed unchanged, and the
# command's exit status becomes ours (128+signal when killed).
#
# usage: with-tty.py PROMPTS -- COMMAND [ARG...]
#   PROMPTS  number of prompts to answer: 1 (dec) or 2 (enc: enter, confirm)
#   The passphrase is read as one line from file descriptor 3, which is
#   closed before COMMAND starts, so the command can only get it from the tty.
# Node has no way to give a child a controlling terminal other than its
# stdio, which is why this small helper exists.
import fcntl
import os
import sys
import termios

PROMPTS = [b"Please enter passphrase: ", b"Please confirm passphrase: "]


def fail(msg):
    sys.stderr.write("with-tty: %s\n" % msg)
    sys.exit(125)


def read_prompt(fd, prompt):
    """Reads len(prompt) bytes, stopping early at the first byte that differs."""
    buf = b""
    while len(buf) < len(prompt):
        part = os.read(fd, 1)
        if not part:
            break
        buf += part
        if not prompt.startswith(buf):
            break
    return buf


def main():
    args = sys.argv[1:]
    if len(args) < 3 or args[1] != "--" or args[0] not in ("0", "1", "2"):
        fail("usage: with-tty.py 0|1|2 -- COMMAND [ARG...]")
    nprompts = int(args[0])
    cmd = args[2:]
    with os.fdopen(3, "rb") as f:
        passphrase = f.readline().rstrip(b"\n")

    master, slave = os.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~(termios.ECHO | termios.ECHONL)
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    err_r, err_w = os.pipe()

    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            os.close(master)
            os.close(err_r)
            os.dup2(err_w, 2)
            os.close(err_w)
            os.close(slave)
            os.execvp(cmd[0], cmd)
        except OSError as e:
            os.write(2, ("with-tty: cannot run %s: %s\n" % (cmd[0], e.strerror)).encode())
            os._exit(127)
    os.close(slave)
    os.close(err_w)

    ok = True
    for prompt in PROMPTS[:nprompts]:
        got = read_prompt(err_r, prompt)
        if got != prompt:
            # The caller aborts on an unexpected prompt; relay what we got.
            sys.stderr.buffer.write(b"with-tty: unexpected prompt " + repr(got).encode() + b"\n")
            sys.stderr.buffer.flush()
            ok = False
            try:
                os.killpg(pid, 15)  # the child is its own session leader
            except ProcessLookupError:
                pass
            break
        os.write(master, passphrase + b"\n")

    while True:
        chunk = os.read(err_r, 65536)
        if not chunk:
            break
        sys.stderr.buffer.write(chunk)
        sys.stderr.buffer.flush()
    _, status = os.waitpid(pid, 0)
    os.close(master)
    if not ok:
        sys.exit(124)
    if os.WIFSIGNALED(status):
        sys.exit(128 + os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))


main()
