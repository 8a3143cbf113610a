// ESLint for the pages' modules (webchat/static/js) and their unit tests (tests/js).
// `make lint-js` runs it.
import js from "@eslint/js";
import globals from "globals";

const NO_HTML = "User text is never markup: build DOM with lib/dom.js's h() and textContent.";

export default [
  { ignores: ["webchat/static/vendor/**", "node_modules/**", "bench/**", ".venv/**", "test-artifacts/**"] },
  js.configs.recommended,
  {
    files: ["webchat/static/js/**/*.js"],
    languageOptions: { ecmaVersion: 2024, sourceType: "module", globals: globals.browser },
  },
  {
    files: ["tests/js/**/*.mjs", "eslint.config.js"],
    languageOptions: { ecmaVersion: 2024, sourceType: "module", globals: globals.node },
  },
  {
    rules: {
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
      "no-shadow": "error",
      "no-var": "error",
      "prefer-const": "error",
      eqeqeq: ["error", "always"],
      "no-implicit-globals": "error",
      "no-restricted-properties": ["error",
        { property: "innerHTML", message: NO_HTML },
        { property: "outerHTML", message: NO_HTML },
        { property: "insertAdjacentHTML", message: NO_HTML },
      ],
      "no-restricted-syntax": ["error",
        { selector: "CallExpression[callee.object.name='document'][callee.property.name=/^write/]", message: NO_HTML },
      ],
    },
  },
];
