#!/usr/bin/env bash
# Vendors ReDoc's standalone bundle from the npm package `redoc`, with the one patch Warden
# applies (see README.md): `bash crates/warden/assets/redoc/update.sh 2.5.4`.
# Then set `REDOC_VERSION` in crates/warden/src/openapi/redoc.rs and the version and digests
# in README.md, and run the tests (`cargo test -p warden --features redoc`, tests/browser);
# if the browser test reports an inline style refused by the policy, the bundle's early
# stylesheet changed: put the digest Chromium names into `STYLE_HASHES` in redoc.rs.
set -euo pipefail

VERSION="${1:?usage: update.sh VERSION (e.g. 2.5.4)}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

(cd "$TMP" && npm pack --silent "redoc@$VERSION" >/dev/null && tar xzf "redoc-$VERSION.tgz")
echo "upstream bundle sha256: $(sha256sum "$TMP/package/bundles/redoc.standalone.js" | cut -d' ' -f1)"

cp "$TMP/package/LICENSE" "$HERE/LICENSE"
cp "$TMP/package/bundles/redoc.standalone.js.LICENSE.txt" "$HERE/THIRD-PARTY-NOTICES.txt"

# The patch: the side menu's "API docs by Redocly" link shows a logo loaded from Redocly's
# CDN; a page that makes no request off its own origin drops the image (the link stays).
node - "$TMP/package/bundles/redoc.standalone.js" "$HERE/redoc.standalone.js" <<'JS'
const fs = require('node:fs');
const [from, to] = process.argv.slice(2);
const logo = 'n.createElement("img",{alt:"redocly logo",onError:()=>t(!1),src:"https://cdn.redoc.ly/redoc/logo-mini.svg"})';
const bundle = fs.readFileSync(from, 'utf8');
const count = bundle.split(logo).length - 1;
if (count !== 1) throw new Error(`expected the CDN logo once in the bundle, found it ${count} times: update the patch`);
fs.writeFileSync(to, bundle.replace(logo, 'null'));
JS
echo "vendored bundle sha256: $(sha256sum "$HERE/redoc.standalone.js" | cut -d' ' -f1)"
if grep -q 'cdn\.redoc\.ly' "$HERE/redoc.standalone.js"; then
  echo "the bundle still refers to cdn.redoc.ly" >&2
  exit 1
fi
