// ESLint rule `gitfleet/folder-index`: a folder below a package's src/ that has an index.ts is
// entered only through that index. Files inside the folder (at any depth) import each other
// freely; everything outside imports `<folder>/index.js` and nothing else from it. This keeps
// a folder's public surface where its index says it is (see hub/src/delivery/index.ts).
import { existsSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

/** The outermost folder between `srcRoot` (exclusive) and `file`'s folder that has an index.ts. */
function sealedFoldersOf(target) {
  const parts = target.split(sep);
  const src = parts.lastIndexOf("src");
  if (src < 0) return [];
  const folders = [];
  for (let i = src + 2; i < parts.length; i++) {
    const folder = parts.slice(0, i).join(sep);
    if (existsSync(join(folder, "index.ts"))) folders.push(folder);
  }
  return folders;
}

function inside(file, folder) {
  const rel = relative(folder, file);
  return rel !== "" && !rel.startsWith("..") && !rel.startsWith(sep);
}

/** @type {import("eslint").Rule.RuleModule} */
const rule = {
  meta: {
    type: "problem",
    docs: { description: "Import a folder that has an index.ts only through that index" },
    messages: {
      throughIndex: "{{source}} reaches inside {{folder}}/; import from {{index}} instead (add the export there if it is missing)",
    },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    function check(node) {
      const source = node.source?.value;
      if (typeof source !== "string" || !source.startsWith(".")) return;
      const target = resolve(dirname(file), source).replace(/\.js$/, ".ts");
      for (const folder of sealedFoldersOf(target)) {
        if (inside(file, folder)) continue;
        if (target === join(folder, "index.ts")) return;
        let index = relative(dirname(file), join(folder, "index.js"));
        if (!index.startsWith(".")) index = `./${index}`;
        context.report({
          node: node.source,
          messageId: "throughIndex",
          data: { source, folder: relative(process.cwd(), folder) || folder, index },
        });
        return;
      }
    }
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check };
  },
};

export default { rules: { "folder-index": rule } };
