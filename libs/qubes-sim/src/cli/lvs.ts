/**
 * lvs for the simulated dom0's thin pool (dom0/lvm.ts), the call shape the
 * dom0 agent uses: `lvs --noheadings --separator SEP --units b --nosuffix
 * -o vg_name,lv_name,lv_uuid,lv_size [VG/LV...]`. Like lvs with
 * --noheadings, each row starts with two spaces.
 */
import { UsageError } from "../errors.ts";
import { lvRows, type LvRow } from "../dom0/lvm.ts";
import { rootFromEnv } from "../system/layout.ts";
import { runCli, simCommand } from "./common.ts";

const FIELDS: Record<string, (r: LvRow) => string> = { vg_name: (r) => r.vg, lv_name: (r) => r.lv, lv_uuid: (r) => r.uuid, lv_size: (r) => String(r.size) };

const program = simCommand("lvs", "[--noheadings] [--separator SEP] [--units b] [--nosuffix] [-o FIELD,...] [VG/LV...]", "Lists the logical volumes of the simulated system in $QUBES_SIM_ROOT.")
  .option("--noheadings", "no heading line")
  .option("--separator <sep>", "between fields", " ")
  .option("--units <u>", "size unit (only b)", "b")
  .option("--nosuffix", "no unit after sizes")
  .option("-o, --options <fields>", "fields", "vg_name,lv_name,lv_uuid,lv_size")
  .argument("[volumes...]");

runCli(program, async (values, positionals) => {
  if (values.units !== "b") throw new UsageError("the simulator's lvs supports only --units b");
  const fields = String(values.options).split(",");
  for (const f of fields) if (!FIELDS[f]) throw new UsageError(`unknown field ${f}`);
  const rows = lvRows(rootFromEnv()).filter((r) => positionals.length === 0 || positionals.includes(`${r.vg}/${r.lv}`));
  const sep = String(values.separator);
  if (!values.noheadings) process.stdout.write(`  ${fields.map((f) => f.replace(/_/g, " ")).join(sep)}\n`);
  for (const r of rows) process.stdout.write(`  ${fields.map((f) => `${FIELDS[f]!(r)}${f === "lv_size" && !values.nosuffix ? "B" : ""}`).join(sep)}\n`);
  return 0;
});
