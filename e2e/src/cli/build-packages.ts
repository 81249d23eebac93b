// `npm run build:packages`: the npm packages gitfleet, gitfleet-hub and gitfleet-agent as
// tarballs in dist/packages, ready for `npm install --global <tarball>` or `npm publish <tarball>`.
import { stat } from "node:fs/promises";
import { fromRoot } from "../release/bundle.js";
import { packProduct } from "../release/pack.js";
import { products } from "../release/products.js";

for (const product of products) {
  const tarball = await packProduct(product);
  console.log(`${fromRoot(tarball)}  ${Math.round((await stat(tarball)).size / 1024)} KiB`);
}
