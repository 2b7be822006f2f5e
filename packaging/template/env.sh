# Defaults of the installed qubes-dedup, sourced by /usr/bin/qubes-dedup and
# the dashboard's launchers: the data lives in the qube's persistent home
# (only /home and /rw survive a restart of an AppVM), never in the template.
# A variable already set wins.
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
# Index db and, next to it, the dashboard's session token (web-token).
: "${QUBES_DEDUP_DB:=${XDG_DATA_HOME:-$HOME/.local/share}/qubes-dedup/qubes-dedup.db}"
# Password files of the repositories the dashboard registers (0600, dir 0700).
: "${QUBES_DEDUP_SECRETS_DIR:=${XDG_CONFIG_HOME:-$HOME/.config}/qubes-dedup}"
# The dashboard's port on 127.0.0.1.
: "${QUBES_DEDUP_WEB_PORT:=8424}"
export HOME QUBES_DEDUP_DB QUBES_DEDUP_SECRETS_DIR QUBES_DEDUP_WEB_PORT
