/**
 * Simulator of the dom0 side of Qubes OS (no Qubes machine is available
 * here): qubesd's scrypt calls, qvm-backup, qvm-backup-restore and
 * qrexec-client-vm, faithful to backup format v4 as described in DESIGN.md.
 */
export { callScrypt, type ScryptCallOptions, type ScryptCallResult } from "./tty/scrypt-call.ts";
