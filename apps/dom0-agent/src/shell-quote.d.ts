// Minimal types for shell-quote (no @types package is installed).
declare module "shell-quote" {
  export function quote(args: readonly string[]): string;
}
