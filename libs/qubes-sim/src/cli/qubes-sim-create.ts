/**
 * qubes-sim-create: writes a simulated dom0 system, or changes blocks of a
 * volume image.
 * usage: qubes-sim-create [--seed S] [--user U] [--spec FILE.json] ROOT
 *        qubes-sim-create --mutate IMAGE [--fraction F] [--extent BYTES] [--seed S]
 */
import fs from "node:fs";
import { z } from "zod";
import { SimError, UsageError } from "../errors.ts";
import { mutateVolume } from "../system/content.ts";
import { createSystem } from "../system/create.ts";
import { runCli, simCommand } from "./common.ts";

const program = simCommand(
  "qubes-sim-create",
  `[--seed S] [--user U] [--spec FILE.json] [--qubesd] ROOT
       qubes-sim-create --mutate IMAGE [--fraction F] [--extent BYTES] [--seed S]`,
  `Writes a simulated dom0 system in ROOT, or changes blocks of a volume image.
FILE.json: {"qubes":[{"name","klass":"TemplateVM|AppVM|StandaloneVM","template"?,
            "label"?,"privateSize","rootSize"?,"firewall"?,"notes"?,"pool"?:"lvm|file"}, ...]}
           (sizes in bytes)
--qubesd: also write qubesd.service, so that backups run scrypt with qubesd's environment`,
)
  .option("--seed <s>", "seed of the generated content")
  .option("--user <u>", "the dom0 user")
  .option("--spec <file>", "the qubes to create (JSON, see below)")
  .option("--mutate <image>", "change blocks of this volume image instead")
  .option("--fraction <f>", "share of the image to change (--mutate)")
  .option("--extent <bytes>", "size of each changed extent (--mutate)")
  .option("--qubesd", "also write qubesd.service (backups then run scrypt with qubesd's environment)")
  .argument("[root...]");

const QubeSpecSchema = z.object({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,30}$/),
  klass: z.enum(["TemplateVM", "AppVM", "StandaloneVM"]),
  template: z.string().optional(),
  label: z.string().optional(),
  privateSize: z.number().int().nonnegative(),
  rootSize: z.number().int().nonnegative().optional(),
  firewall: z.boolean().optional(),
  notes: z.string().optional(),
  pool: z.enum(["lvm", "file"]).optional(),
});
const SpecSchema = z.object({ qubes: z.array(QubeSpecSchema).min(1) });

function loadSpec(file: string) {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new SimError(`Cannot read the spec ${file} (${(e as Error).message}); give a JSON file.`);
  }
  const r = SpecSchema.safeParse(json);
  if (!r.success) throw new SimError(`The spec ${file} is invalid (${r.error.issues[0]?.path.join(".")}: ${r.error.issues[0]?.message}); see the usage text.`);
  return r.data.qubes;
}

runCli(program, async (values, positionals) => {
  if (values.mutate) {
    if (positionals.length) throw new UsageError("--mutate takes no ROOT");
    const r = mutateVolume(values.mutate, {
      fraction: values.fraction === undefined ? undefined : Number(values.fraction),
      extent: values.extent === undefined ? undefined : Number(values.extent),
      seed: values.seed,
    });
    process.stdout.write(`rewrote ${r.extents} extent(s) of ${values.mutate}\n`);
    return 0;
  }
  const [root, ...extra] = positionals;
  if (!root || extra.length) throw new UsageError(root ? "only one ROOT" : "missing ROOT");
  const store = createSystem(root, { seed: values.seed, user: values.user, qubes: values.spec ? loadSpec(values.spec) : undefined, qubesd: values.qubesd });
  process.stdout.write(`created ${root} with ${store.domains.length - 1} qube(s) and dom0\n`);
  return 0;
});
