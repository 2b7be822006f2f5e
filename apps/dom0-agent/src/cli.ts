/** Entry point of the bundled `qubes-dedup-agent`. */
import { main } from "./main.ts";

process.exitCode = await main(process.argv.slice(2));
