// The JS half of scripts/build-sdk: wraps js/loader.js as an ES module (paygate.mjs) and a classic
// script (paygate.js), copies the declarations and the stylesheet, and checks the size budget
// (gzip -9 byte counts: loader at most 10 KB, module at most 60 KB). Usage: node build.mjs <out dir>
import { readFileSync, writeFileSync, copyFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) throw new Error("usage: node build.mjs <out dir>");
const { version } = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));
const loader = readFileSync(join(here, "js", "loader.js"), "utf8").replaceAll("__PAYGATE_VERSION__", version);
const banner = `// Paygate web SDK ${version}. Apache-2.0. Built by scripts/build-sdk from sdk-wasm/js/loader.js.\n`;

writeFileSync(join(out, "paygate.mjs"), banner + "const SCRIPT_URL = import.meta.url;\n\n" + loader +
  "\nexport { load, PaygateError, VERSION as version };\nexport default { load, PaygateError, version: VERSION };\n");
writeFileSync(join(out, "paygate.js"), banner + "(function () {\n\"use strict\";\n" +
  "const SCRIPT_URL = (typeof document !== \"undefined\" && document.currentScript && document.currentScript.src) || \"\";\n\n" + loader +
  "\nif (typeof window !== \"undefined\") window.Paygate = { load: load, PaygateError: PaygateError, version: VERSION };\n})();\n");
copyFileSync(join(here, "js", "paygate.d.ts"), join(out, "paygate.d.ts"));
copyFileSync(join(here, "js", "paygate.css"), join(out, "paygate.css"));

// The loader is what a page runs before the module: the wrapper and wasm-bindgen's glue.
const budgets = [
  ["loader (paygate.js + paygate_sdk.js)", ["paygate.js", "paygate_sdk.js"], 10 * 1024],
  ["loader (paygate.mjs + paygate_sdk.js)", ["paygate.mjs", "paygate_sdk.js"], 10 * 1024],
  ["module (paygate_sdk_bg.wasm)", ["paygate_sdk_bg.wasm"], 60 * 1024],
];
let over = false;
for (const [name, files, budget] of budgets) {
  let raw = 0;
  let gz = 0;
  for (const file of files) {
    const bytes = readFileSync(join(out, file));
    raw += bytes.length;
    gz += gzipSync(bytes, { level: 9 }).length;
  }
  const ok = gz <= budget;
  over ||= !ok;
  console.log(`${name}: ${raw} bytes, ${gz} bytes gzip (budget ${budget}) ${ok ? "ok" : "OVER BUDGET"}`);
}
if (over) process.exit(1);
