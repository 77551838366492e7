#!/usr/bin/env bash
# Scaffolds a workspace package: tools/new-package.sh <dir> <npm-name> [dep ...]
set -euo pipefail
dir=$1; name=$2; shift 2
mkdir -p "$dir/src"
deps=""; refs=""
for d in "$@"; do
  deps+="\"@loom/$d\": \"*\","
  path=packages/$d
  rel=$(realpath --relative-to="$dir" "$path")
  refs+="{ \"path\": \"$rel\" },"
done
deps=${deps%,}; refs=${refs%,}
cat > "$dir/package.json" <<JSON
{
  "name": "$name",
  "version": "0.1.0",
  "type": "module",
  "exports": {
    ".": { "@loom/source": "./src/index.ts", "types": "./dist/index.d.ts", "default": "./dist/index.js" }
  },
  "files": ["dist", "src"],
  "scripts": {
    "build": "tsc -b",
    "test": "vitest run"
  },
  "dependencies": { $deps }
}
JSON
cat > "$dir/tsconfig.json" <<JSON
{
  "extends": "$(realpath --relative-to="$dir" tsconfig.base.json)",
  "compilerOptions": { "rootDir": "src", "outDir": "dist" },
  "include": ["src"],
  "exclude": ["src/**/*.test.ts"],
  "references": [ $refs ]
}
JSON
cat > "$dir/vitest.config.ts" <<TS
import shared from '$(realpath --relative-to="$dir" vitest.shared.ts | sed 's/\.ts$/.js/')';
export default shared;
TS
