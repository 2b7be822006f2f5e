/** Entry point of the bundled `qubes-dedup-agent`. */
import { main } from "./main.ts";
import { policyCommand, rpcCommand } from "./rpc/cli.ts";

const [cmd, ...rest] = process.argv.slice(2);
process.exitCode = cmd === "rpc" ? await rpcCommand(rest) : cmd === "policy" ? await policyCommand(rest) : await main(process.argv.slice(2));
