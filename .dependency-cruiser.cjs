/**
 * Which project may import which (docs/ARCHITECTURE.md draws the same).
 * Checked by `npm run boundaries` (dependency-cruiser) as part of `npm test`.
 * Paths are real paths: workspace packages resolve through their
 * node_modules links to libs/<name>/src or apps/<name>/src.
 */
const TESTS = "(^|/)(test|tests|bench|support)/|\\.test\\.tsx?$|(^|/)vitest\\.config\\.ts$|(^|/)playwright\\.config\\.ts$";
const PRODUCT = "^(apps/(web|cli|dom0-agent)|libs/(db|files|pipeline|protocol|service|shim))/";

module.exports = {
  forbidden: [
    {
      name: "lib-imports-app",
      comment: "Libraries serve the apps; an app's code is not a library. Move what is shared into a lib.",
      severity: "error",
      from: { path: "^libs/" },
      to: { path: "^apps/" },
    },
    {
      name: "app-imports-app",
      comment: "Apps never import each other (the CLI must not import dashboard code): move what is shared into a lib.",
      severity: "error",
      from: { path: "^apps/([^/]+)/" },
      to: { path: "^apps/", pathNot: "^apps/$1/" },
    },
    {
      name: "product-imports-simulator",
      comment: "libs/qubes-sim is test infrastructure: only tests, benches, e2e and apps/demo may import it.",
      severity: "error",
      from: { path: PRODUCT, pathNot: TESTS },
      to: { path: "^libs/qubes-sim/" },
    },
    {
      name: "agent-imports-more-than-shim-and-protocol",
      comment: "The dom0 agent is dom0's trusted code: of the workspace it may use only the shim and the protocol.",
      severity: "error",
      from: { path: "^apps/dom0-agent/", pathNot: TESTS },
      to: { path: "^(apps|libs)/", pathNot: "^(apps/dom0-agent|libs/shim|libs/protocol)/" },
    },
    {
      name: "shim-imports-more-than-node",
      comment: "The shim runs for every chunk of every backup: Node's built-ins and protocol's built-in-only formats entry, nothing else.",
      severity: "error",
      from: { path: "^libs/shim/src/" },
      to: { dependencyTypesNot: ["core"], pathNot: "^(libs/shim/src|libs/protocol/src/formats)/" },
    },
    {
      name: "protocol-formats-imports-more-than-node",
      comment: "protocol's formats entry is bundled into the shim: Node's built-ins only.",
      severity: "error",
      from: { path: "^libs/protocol/src/formats/" },
      to: { dependencyTypesNot: ["core"], pathNot: "^libs/protocol/src/formats/" },
    },
    {
      name: "protocol-is-pure",
      comment: "libs/protocol holds pure contracts: no I/O, no other workspace project.",
      severity: "error",
      from: { path: "^libs/protocol/src/" },
      to: { path: "^(apps|libs)/", pathNot: "^libs/protocol/" },
    },
    {
      name: "files-imports-workspace",
      comment: "libs/files reads untrusted filesystems through a sandbox: it stays small and self-contained, Node's built-ins only; libs/service wires it to the repository.",
      severity: "error",
      from: { path: "^libs/files/src/" },
      to: { path: "^(apps|libs)/", pathNot: "^libs/files/" },
    },
    {
      name: "pipeline-imports-shim",
      comment: "The pipeline reads the trailer format from libs/protocol, not from the shim.",
      severity: "error",
      from: { path: "^libs/pipeline/" },
      to: { path: "^libs/shim/" },
    },
    {
      name: "web-below-service",
      comment: "The dashboard calls libs/service only: no Prisma (libs/db) and no engines (libs/pipeline) from apps/web.",
      severity: "error",
      from: { path: "^apps/web/" , pathNot: TESTS },
      to: { path: "^libs/(db|pipeline)/" },
    },
    {
      name: "cli-below-service",
      comment: "The backup-qube CLI calls libs/service, like the dashboard: no Prisma (libs/db) and no engines (libs/pipeline) of its own.",
      severity: "error",
      from: { path: "^apps/cli/", pathNot: TESTS },
      to: { path: "^libs/(db|pipeline)/" },
    },
    {
      name: "apps-no-database-or-spawning",
      comment: "The dashboard and the CLI never talk to the database or spawn engines themselves.",
      severity: "error",
      from: { path: "^apps/(web|cli)/", pathNot: TESTS },
      to: { path: "node_modules/(@prisma|@libsql|libsql|execa)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(dist|\\.next|generated|test-results)/" },
    tsPreCompilationDeps: true,
    combinedDependencies: false,
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".tsx", ".js", ".mjs", ".cjs", ".json"],
    },
    tsConfig: { fileName: "tsconfig.base.json" },
  },
};
