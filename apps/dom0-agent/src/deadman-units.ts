/**
 * The systemd units of the dead-man check (deadman.ts): a oneshot service
 * running `qubes-dedup-agent deadman` as root (the ledger is root-only) and a
 * daily timer, `Persistent=true` so that a day dom0 was off is caught up at
 * the next boot. `shim install` writes them with the shim, through the same
 * install plan (recorded in the install manifest, so `shim uninstall` removes
 * exactly them), and the dom0 package ships the same bytes. Enabling the
 * timer is systemd's business: the package's %post does it, after a hand
 * install `systemctl enable --now qubes-dedup-deadman.timer`. Pure.
 */
import type { WantedFile } from "@qubes-dedup/shim";

/** The service's unit file. */
export const DEADMAN_SERVICE_FILE = "/etc/systemd/system/qubes-dedup-deadman.service";
/** The timer's unit file. */
export const DEADMAN_TIMER_FILE = "/etc/systemd/system/qubes-dedup-deadman.timer";
/** The timer's unit name, for systemctl. */
export const DEADMAN_TIMER = "qubes-dedup-deadman.timer";
/** Where `systemctl enable` links the timer (removed by `shim uninstall` when it is that link). */
export const DEADMAN_TIMER_LINK = `/etc/systemd/system/timers.target.wants/${DEADMAN_TIMER}`;
/** The agent's command as the dom0 package installs it (a hand install links it there too). */
export const AGENT_COMMAND = "/usr/bin/qubes-dedup-agent";

const lines = (...l: string[]) => Buffer.from(l.map((x) => `${x}\n`).join(""));

/** The service: exit 3 (a qube is stale) leaves it failed, so `systemctl --failed` shows it too. */
export function deadmanService(): Buffer {
  return lines(
    "# Written by `qubes-dedup-agent shim install` (or the dom0 package); removed by `shim uninstall`.",
    "# Warns on dom0's desktop when a qube has no good backup in dom0's ledger newer than",
    "# deadmanDays (/etc/qubes-dedup/agent.json, default 7); exit status 3 then.",
    "[Unit]",
    "Description=qubes-dedup dead-man check: qubes without a recent good backup",
    "After=qubesd.service",
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${AGENT_COMMAND} deadman`,
  );
}

/** The timer: daily, caught up after downtime. */
export function deadmanTimer(): Buffer {
  return lines(
    "# Written by `qubes-dedup-agent shim install` (or the dom0 package); removed by `shim uninstall`.",
    "[Unit]",
    "Description=Daily qubes-dedup dead-man check",
    "",
    "[Timer]",
    "OnCalendar=daily",
    "Persistent=true",
    "",
    "[Install]",
    "WantedBy=timers.target",
  );
}

/** Both unit files, for the install plan. */
export function deadmanUnits(): WantedFile[] {
  return [
    { path: DEADMAN_SERVICE_FILE, mode: 0o644, content: deadmanService() },
    { path: DEADMAN_TIMER_FILE, mode: 0o644, content: deadmanTimer() },
  ];
}
