/** The simulated Qubes system the demo backs up. */
import type { QubeSpec } from "@qubes-dedup/qubes-sim";

export const MiB = 1024 * 1024;

/** Qubes of the demo system (sizes in bytes); `small` divides them by 8 to keep test runs quick. */
export function demoQubes(small: boolean): QubeSpec[] {
  const k = small ? 1 / 8 : 1;
  const m = (n: number) => Math.max(1, Math.round(n * k)) * MiB;
  return [
    { name: "fedora-41", klass: "TemplateVM", label: "black", rootSize: m(128), privateSize: m(4), pool: "file" },
    { name: "work", klass: "AppVM", template: "fedora-41", label: "blue", privateSize: m(48), firewall: true },
    { name: "personal", klass: "AppVM", template: "fedora-41", label: "yellow", privateSize: m(32), pool: "file" },
    { name: "vault", klass: "AppVM", template: "fedora-41", label: "black", privateSize: m(8) },
  ];
}
