#!/bin/sh
# The PDF font step of `make demo` / `make test`: make sure a Japanese TrueType font is there.
#   1. $DVFLAG_PDF_FONT set            -> use it, skip the step (it must exist);
#   2. IPAmj明朝 already installed       -> skip the step;
#   3. apt-get available               -> install fonts-ipamj-mincho (root) or unpack the .deb into the venv;
#   4. otherwise                       -> say what to do, and fail.
# Usage: tools/ensure-font.sh VENV   ($DVFLAG_FONT_PREFIX, default /usr, is where system fonts live.)
set -eu
venv=${1:?usage: ensure-font.sh VENV}
prefix=${DVFLAG_FONT_PREFIX:-/usr}
rel=share/fonts/truetype/ipamj/ipamjm.ttf

if [ -n "${DVFLAG_PDF_FONT:-}" ]; then
  if [ -f "$DVFLAG_PDF_FONT" ]; then
    echo "PDF フォント: DVFLAG_PDF_FONT=$DVFLAG_PDF_FONT を使います（フォントの導入は省略） / using it, font step skipped"
    exit 0
  fi
  echo "エラー: DVFLAG_PDF_FONT=$DVFLAG_PDF_FONT のファイルがありません / Error: DVFLAG_PDF_FONT names no file" >&2
  exit 1
fi
for f in "$prefix/$rel" "$prefix/local/share/fonts/ipamjm.ttf" "$venv/$rel"; do
  if [ -f "$f" ]; then
    echo "PDF フォント: $f（導入済み、省略） / already installed, font step skipped"
    exit 0
  fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "エラー: PDF 用の IPAmj明朝 がなく、apt-get もありません。ipamjm.ttf を入手し" \
       "DVFLAG_PDF_FONT=/path/ipamjm.ttf を設定して再実行してください" >&2
  echo "Error: IPAmj Mincho (for PDF lists) is missing and there is no apt-get: get ipamjm.ttf" \
       "(https://moji.or.jp/mojikiban/font/) and set DVFLAG_PDF_FONT=/path/ipamjm.ttf" >&2
  exit 1
fi
echo "PDF フォント IPAmj明朝 を導入します / installing IPAmj Mincho (fonts-ipamj-mincho)"
if [ "$(id -u)" = 0 ]; then
  apt-get install -y -qq --no-install-recommends fonts-ipamj-mincho >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends fonts-ipamj-mincho >/dev/null; }
else
  d=$(mktemp -d)
  (cd "$d" && apt-get download fonts-ipamj-mincho)
  dpkg-deb -x "$d"/fonts-ipamj-mincho_*.deb "$d/x"
  mkdir -p "$venv/share/fonts/truetype/ipamj"
  cp "$d/x/usr/$rel" "$venv/$rel"
  rm -rf "$d"
fi
