# qubes-dedup (package qubes-dedup), sourced by login shells: in the
# disposable qube of a paranoid-mode restore, and only there, the scrypt
# shim comes first on PATH, so that it decrypts qubes-dedup chunks; it hands
# every other call to /usr/bin/scrypt. dom0 names that disposable
# disp-backup-restore (qvm-backup-restore --paranoid-mode) and runs the
# restore in it through a login shell. See
# /usr/share/doc/qubes-dedup/INSTALL-QUBES.md, "Paranoid mode".
if [ "$(qubesdb-read /name 2>/dev/null)" = disp-backup-restore ]; then
  case ":$PATH:" in
    *:/usr/lib/qubes-dedup/bin:*) ;;
    *) PATH="/usr/lib/qubes-dedup/bin:$PATH"; export PATH ;;
  esac
fi
