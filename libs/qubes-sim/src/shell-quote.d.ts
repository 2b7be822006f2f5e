// Minimal types for shell-quote (no @types package is installed).
declare module "shell-quote" {
  export type ParseEntry = string | { op: string; pattern?: string } | { comment: string };
  export function parse(s: string, env?: Record<string, string | undefined>): ParseEntry[];
  export function quote(args: readonly string[]): string;
}
