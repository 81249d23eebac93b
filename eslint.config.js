// Type-aware lint for every workspace package; run through `npm run lint`.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import gitfleet from "./scripts/eslint/folder-index.js";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/gen/**", ".lab/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { gitfleet },
    rules: {
      // A folder with an index.ts (hub/src/delivery and its parts) is entered only through it.
      "gitfleet/folder-index": "error",
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          // node:test runs suites and tests it is handed; their promises are its to await.
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["describe", "it", "test", "suite", "before", "after", "beforeEach", "afterEach"] },
          ],
        },
      ],
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["**/*.mjs", "**/*.js"],
    ...tseslint.configs.disableTypeChecked,
  },
);
