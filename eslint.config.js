import js from "@eslint/js"
import tseslint from "typescript-eslint"

export default tseslint.config(
  { ignores: ["node_modules/", "data/", "coverage/", "**/.scratch/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-empty-object-type": "off",
      "no-restricted-syntax": ["error", {
        selector: "CallExpression[callee.name='parseFloat']",
        message: "Money is BigDecimal, never a float."
      }]
    }
  },
  {
    files: ["src/domain/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [
          { group: ["node:*", "fs", "path", "crypto", "@effect/*", "ioredis", "@aws-sdk/*"], message: "src/domain is pure: no I/O." },
          { group: ["../application/*", "../adapters/*"], message: "Dependencies point inward." }
        ],
        paths: [{ name: "effect", importNames: ["Context", "Layer", "Clock", "Random", "Effect"], message: "src/domain is pure: no services, clock or randomness." }]
      }]
    }
  }
)
