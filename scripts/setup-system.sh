#!/usr/bin/env bash
# Installs the Debian packages docgen needs when they are missing:
#   fonts-noto-cjk fonts-noto-cjk-extra  open CJK faces (substitutes for the official fonts)
#   poppler-utils qpdf                   PDF text extraction and checks used by the tests
#   ghostscript                          print-path tests (PostScript from pdftops rasterised)
#   libreoffice-writer-nogui             DOCX -> PDF conversion check (tests, benchmark)
#   python3-venv                         `python3 -m venv` (Debian ships ensurepip separately)
# As root (or with password-less sudo) it installs them; otherwise it prints the command.
set -euo pipefail

need=()
have_font() { ls /usr/share/fonts/opentype/noto/"$1" >/dev/null 2>&1; }
have_font NotoSerifCJK-Regular.ttc && have_font NotoSansCJK-Bold.ttc || need+=(fonts-noto-cjk)
have_font NotoSerifCJK-Black.ttc && have_font NotoSansCJK-Black.ttc || need+=(fonts-noto-cjk-extra)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
command -v qpdf >/dev/null 2>&1 || need+=(qpdf)
command -v gs >/dev/null 2>&1 || need+=(ghostscript)
"${PYTHON:-python3}" -c 'import ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ "${DOCGEN_SKIP_SOFFICE:-}" != "1" ]; then
  command -v soffice >/dev/null 2>&1 || need+=(libreoffice-writer-nogui)
fi

if [ ${#need[@]} -eq 0 ]; then
  echo "系统软件包齐全。"
  exit 0
fi

echo "需要安装 Debian 软件包：${need[*]}"
if [ "$(id -u)" = "0" ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo"
else
  echo "无法自动安装（需要管理员权限）。请执行：" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "已安装：${need[*]}"
