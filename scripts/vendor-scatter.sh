#!/usr/bin/env bash
# Reproduces curation/dashboard/static/vendor/: the WebGL scatter library of the dashboard's embedding map
# (regl-scatterplot, MIT) and its two peer dependencies (regl, MIT; pub-sub-es, MIT), as published on npm.
# The files are copied unchanged from the pinned package tarballs, whose sha256 is checked; the licences go
# beside them. Needs npm (developers only: users get the files inside the package).
set -euo pipefail
cd "$(dirname "$0")/.."
out=curation/dashboard/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() {  # name version sha256 → unpacked into $work/<name>
  local name=$1 version=$2 sum=$3
  (cd "$work" && npm pack --silent "$name@$version" >/dev/null)
  echo "$sum  $work/$name-$version.tgz" | sha256sum --check --quiet
  mkdir -p "$work/$name" && tar xzf "$work/$name-$version.tgz" -C "$work/$name"
}

fetch regl-scatterplot 1.16.0 602fc3a5f4eb6df3e2e7386d4c0ffbc2d8e0a1f81bde1d71bdf539a3b7c92f32
fetch regl 2.1.1 cff2389d59585bf3635302712ead044d989253a3d64c7415a5e7fdea43abc634
fetch pub-sub-es 3.0.0 dfcd95c989d59f5f356603cd1ad1b0ac851d80d031301ed0798e70628352b490

mkdir -p "$out"
cp "$work/regl-scatterplot/package/dist/regl-scatterplot.esm.js" "$out/regl-scatterplot.esm.js"
cp "$work/regl-scatterplot/package/LICENSE" "$out/LICENSE-regl-scatterplot"
cp "$work/regl/package/dist/regl.min.js" "$out/regl.min.js"
cp "$work/regl/package/LICENSE" "$out/LICENSE-regl"
cp "$work/pub-sub-es/package/dist/index.js" "$out/pub-sub-es.js"
cp "$work/pub-sub-es/package/LICENSE" "$out/LICENSE-pub-sub-es"
echo "vendored into $out:" && ls -l "$out"
