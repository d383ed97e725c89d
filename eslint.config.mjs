// Lint: typescript-eslint's recommended rules, plus Pulumi's rules, which need type information
// to see where a pulumi.Output would be stringified by a template literal.
import path from "node:path";
import { includeIgnoreFile } from "eslint/config";
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";

export default tseslint.config(
  // What git ignores is what the tests, the sandbox and the bench write at run time (.sandbox/,
  // whose simulated hosts hold copies of .ts files; logs; bench temp files): never linted.
  includeIgnoreFile(path.join(import.meta.dirname, ".gitignore"), {
    name: "runner-fleet/gitignore",
    gitignoreResolution: true,
  }),
  { ignores: ["toolchain/**", "eslint.config.mjs"] },
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "@pulumi": pulumi },
    rules: {
      "@pulumi/no-output-in-template-literal": "error",
      "@pulumi/no-output-instance-in-template-literal": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
);
