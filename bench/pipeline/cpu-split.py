#!/usr/bin/env python3
# Bench support (not shipped): runs COMMAND and reports its CPU time apart
# from that of the processes it waited for. It waits with WNOWAIT, so the
# ended command is still a zombie whose /proc/<pid>/stat holds its own
# utime+stime (all its threads) and, apart, cutime+cstime (its reaped
# children: the engine under ingest/dump). Writes "<self> <children>"
# (seconds) to OUT, then reaps the command and exits with its status.
# stdin/stdout/stderr are inherited, so this can sit inside a pipe.
# usage: cpu-split.py OUT -- COMMAND [ARG...]
import os
import sys


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.stderr.write("usage: cpu-split.py OUT -- COMMAND [ARG...]\n")
        return 125
    out, argv = sys.argv[1], sys.argv[3:]
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        except OSError as e:
            sys.stderr.write("cpu-split: cannot run %s: %s\n" % (argv[0], e))
            os._exit(127)
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    with open("/proc/%d/stat" % pid) as f:
        # the command name (field 2) may hold spaces; fields after ")" are fixed
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    utime, stime, cutime, cstime = (int(x) / tick for x in fields[11:15])
    with open(out, "w") as f:
        f.write("%.3f %.3f\n" % (utime + stime, cutime + cstime))
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


sys.exit(main())
