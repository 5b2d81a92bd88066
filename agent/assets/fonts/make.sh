#!/usr/bin/env bash
# Makes DejaVuSans-mohur.ttf, the font of visible PDF signatures (documents/appearance.rs):
# DejaVu Sans 2.37 (Debian's fonts-dejavu-core) cut down by fontTools' pyftsubset to
# the scripts a signature's name, date and reason are written in here: Latin with its
# extensions (Azerbaijani ə ğ ı ş ç ö ü), Cyrillic, Armenian, and punctuation. Kept in the
# repository so that every build has the same font; run again only to change it.
#
#   pip install fonttools && bash agent/assets/fonts/make.sh
set -euo pipefail
cd "$(dirname "$0")"
SOURCE=${DEJAVU_SANS:-/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf}
pyftsubset "$SOURCE" \
    --unicodes="U+0020-007E,U+00A0-024F,U+0259,U+02BB-02BC,U+02C6-02DD,U+0300-036F,U+0400-04FF,U+0530-058F,U+2010-2027,U+2030-205E,U+20AC,U+2116,U+2122" \
    --layout-features='*' --name-IDs='*' --name-legacy --glyph-names=false \
    --notdef-outline --no-hinting --output-file=DejaVuSans-mohur.ttf
cp /usr/share/doc/fonts-dejavu-core/copyright LICENSE.DejaVu
