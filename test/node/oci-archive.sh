# Sourced by test/node/build-images.sh and build-controller-image.sh (which define log and $work).
# oci_archive <archive> <rootfs> <ref> <config-json> [<ref> <config-json> ...]: an OCI image layout
# tar with one uncompressed layer made of <rootfs> and one image (config + manifest) per ref, all
# over that layer; `io.containerd.image.name` is the name ctr gives each imported image.
oci_archive() {
  local archive=$1 rootfs=$2; shift 2
  local name; name=$(basename "$archive" .tar)
  local layout="$work/$name-layout"
  mkdir -p "$layout/blobs/sha256"
  tar --sort=name --numeric-owner --mtime=@0 -C "$rootfs" -cf "$work/$name-layer.tar" .
  local layer_digest layer_size
  layer_digest=$(sha256sum "$work/$name-layer.tar" | cut -d' ' -f1)
  layer_size=$(stat -c %s "$work/$name-layer.tar")
  mv "$work/$name-layer.tar" "$layout/blobs/sha256/$layer_digest"
  local manifests=() blob digest size
  while (( $# >= 2 )); do
    local ref=$1 config=$2; shift 2
    blob="$work/blob.json"
    printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
      "$config" "$layer_digest" > "$blob"
    local config_digest config_size
    config_digest=$(sha256sum "$blob" | cut -d' ' -f1); config_size=$(stat -c %s "$blob")
    mv "$blob" "$layout/blobs/sha256/$config_digest"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
      "$config_digest" "$config_size" "$layer_digest" "$layer_size" > "$blob"
    digest=$(sha256sum "$blob" | cut -d' ' -f1); size=$(stat -c %s "$blob")
    mv "$blob" "$layout/blobs/sha256/$digest"
    manifests+=("$(printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}' \
      "$digest" "$size" "$ref" "${ref##*:}")")
  done
  printf '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"
  local IFS=,
  printf '{"schemaVersion":2,"manifests":[%s]}' "${manifests[*]}" > "$layout/index.json"
  unset IFS
  mkdir -p "$(dirname "$archive")"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$layout" -cf "$archive.partial" .
  mv "$archive.partial" "$archive"
  rm -rf "$layout"
  log "$(basename "$archive"): $(( $(stat -c %s "$archive") / 1048576 )) MiB"
}
