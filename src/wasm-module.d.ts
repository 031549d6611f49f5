// `import bytes from "./k.wasm"` in a module bundled for the runners: esbuild's binary loader
// (src/driver/bundle.ts) makes the file's bytes the default export. Users get this
// declaration with `/// <reference types="strand/wasm" />` (or the same four lines in a .d.ts).
declare module "*.wasm" {
  const bytes: Uint8Array;
  export default bytes;
}
