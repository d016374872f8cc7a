// ESLint (flat config) for our own front-end scripts: `make lint-js` runs
// node_modules/.bin/eslint reporter/static. The files are plain <script>s (IIFEs with
// "use strict", globals on window), not modules; envelope.js and payload.js also load under
// node (module.exports) for the twin tests. Third-party files are copied under
// reporter/static/vendor at set-up (scripts/vendor_assets.py) and are not ours to lint.
"use strict";

const js = require("@eslint/js");
const globals = require("globals");

module.exports = [
  {
    ignores: ["reporter/static/vendor/**", "**/*.min.js", ".venv/**", "build/**", "dist/**", "bench/out/**"],
  },
  js.configs.recommended,
  {
    rules: {
      // `catch (e) {...}` keeps its binding: these scripts are written in ES5 syntax (var,
      // function) and an optional catch binding is ES2019. Unused caught errors are allowed.
      "no-unused-vars": ["error", { caughtErrors: "none" }],
    },
  },
  {
    files: ["reporter/static/js/**/*.js"],
    languageOptions: {
      ecmaVersion: "latest",
      sourceType: "script",
      globals: { ...globals.browser },
    },
  },
  {
    // The twins' UMD tail: `typeof module === "object"` picks module.exports under node.
    files: ["reporter/static/js/envelope.js", "reporter/static/js/payload.js"],
    languageOptions: { globals: { module: "readonly", require: "readonly" } },
  },
  {
    files: ["reporter/static/sw.js"],
    languageOptions: {
      ecmaVersion: "latest",
      sourceType: "script",
      globals: { ...globals.serviceworker },
    },
  },
  {
    files: ["eslint.config.js"],
    languageOptions: { sourceType: "commonjs", globals: { ...globals.node } },
  },
];
