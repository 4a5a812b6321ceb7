#!/usr/bin/env bash
# Renders the kustomize base and the example overlay with a real kustomize
# (`kubectl kustomize`) and checks what the overlay changes. Debian 12 ships
# no kustomize, kubeconform or kubeval, and its kubernetes-client (kubectl
# 1.20, kustomize 2.0.3) cannot read current kustomizations, so this uses
# whatever kubectl is installed and skips (exit 77) without one.
set -euo pipefail
cd "$1"
if ! command -v kubectl >/dev/null 2>&1; then
  echo "SKIP: kubectl not found; kustomize rendering not checked" >&2
  exit 77
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
kubectl kustomize deploy/kubernetes/base >"$out/base.yaml"
kubectl kustomize deploy/kubernetes/overlays/example >"$out/overlay.yaml"
for f in base overlay; do
  n="$(grep -c '^kind: ' "$out/$f.yaml")"
  [ "$n" -eq 10 ] || { echo "$f renders $n objects, want 10" >&2; exit 1; }
done
grep -q 'image: us-central1-docker.pkg.dev/my-project/dbconnd/dbconnd:0.1.0' "$out/overlay.yaml" \
  || { echo "overlay did not set the image" >&2; exit 1; }
grep -q 'iam.gke.io/gcp-service-account: dbconnd@my-project.iam.gserviceaccount.com' "$out/overlay.yaml" \
  || { echo "overlay did not set the Google service account" >&2; exit 1; }
if grep -q 'PROJECT_ID' "$out/overlay.yaml"; then
  echo "overlay still carries the base's PROJECT_ID placeholder" >&2; exit 1
fi
# The GitOps overlay: every file under intents/ becomes a key of the
# daemon's ConfigMap, under its stable name.
kubectl kustomize deploy/kubernetes/overlays/gitops >"$out/gitops.yaml"
n="$(grep -c '^kind: ' "$out/gitops.yaml")"
[ "$n" -eq 10 ] || { echo "gitops overlay renders $n objects, want 10" >&2; exit 1; }
for f in deploy/kubernetes/overlays/gitops/intents/*.yaml; do
  grep -q "^  $(basename "$f"): |" "$out/gitops.yaml" \
    || { echo "gitops overlay: $f is not in the ConfigMap" >&2; exit 1; }
done
grep -q '^  name: dbconnd-config$' "$out/gitops.yaml" \
  || { echo "gitops overlay: ConfigMap name is not the stable dbconnd-config" >&2; exit 1; }
echo "kustomize: base and overlays render"
