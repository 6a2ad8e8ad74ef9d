"""PDF writer (issue 5): extract the text of every output with pypdf and render a page with pypdfium2."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import cast

import pypdf
import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest

from dvflag_hookspecs.values import Registration
from dvflag_plugin.outputs import ExportMeta, WrittenOutput, fonts, write_pdf
from dvflag_plugin.outputs._ttfont import make_to_unicode_cmap
from dvflag_plugin.outputs.charsets import is_variation_selector

META = ExportMeta(
    title="DV等支援対象者 把握状況一覧（子ども家庭課）",
    output_no="EXP-20261126-000042",
    generated_at=datetime(2026, 11, 26, 5, 3, tzinfo=UTC),
    actor_id="u-kodomo-01",
    actor_dept="D0201",
    actor_dept_name="子ども家庭課",
    as_of=date(2026, 11, 26),
    scope_label="自所属",
    filters_label="有効のみ　入力日 令和6年4月1日から",
)
IVS_NAME = "葛\U000e0100城 三郎"


def reg(i: int, name: str, **kw: object) -> Registration:
    """A synthetic dummy registration (ダミーデータ)."""
    values: dict[str, object] = {
        "record_id": 9000 + i,
        "address_no": f"{i:010d}",
        "name": name,
        "sex_code": 1,
        "birth_date": date(1989, 1, 8),
        "dept_code": "D0201",
        "dept_name": "子ども家庭課",
        "input_date": date(2024, 4, 1),
        "release_date": None,
        "row_version": 1,
    }
    values.update(kw)
    return Registration(**values)  # type: ignore[arg-type]


def dummy_rows() -> list[Registration]:
    return [
        reg(1, "髙橋 花子", sex_code=2, birth_date=date(2019, 5, 1)),
        reg(2, "𠮷田 一郎", sex_code=1, release_date=date(2026, 3, 31)),
        reg(3, "山﨑 次郎", sex_code=0),
        reg(4, IVS_NAME, sex_code=9),
    ]


def export(rows: list[Registration]) -> tuple[bytes, WrittenOutput]:
    buf = io.BytesIO()
    result = write_pdf(iter(rows), META, buf)
    return buf.getvalue(), result


def page_texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def test_header_footer_and_values_in_extracted_text() -> None:
    data, result = export(dummy_rows())
    texts = page_texts(data)
    assert result.page_count == len(texts) == 1
    text = texts[0]
    for expected in (
        "取扱注意",
        META.title,
        "出力番号 EXP-20261126-000042",
        "出力日時 令和8年11月26日 14:03（日本時間）",  # 05:03 UTC is 14:03 JST
        "出力者 u-kodomo-01（D0201 子ども家庭課）",
        "基準日 令和8年11月26日",
        "範囲 自所属",
        "条件 有効のみ",
        "髙橋 花子",
        "𠮷田 一郎",  # beyond the BMP: drawn and extractable (ToUnicode fixed)
        "山﨑 次郎",
        "葛城 三郎",  # IVS: base character drawn
        "令和元年5月1日",
        "平成元年1月8日",
        "令和6年4月1日",
        "令和8年3月31日",
        "適用不能",
        "不明",
        "有効",
        "解除",
    ):
        assert expected in text, expected
    assert re.search(r"\b男\b", text)
    assert re.search(r"\b女\b", text)
    assert re.search(r"ページ 1 /\s*1\b", text)
    assert "9001" not in text  # no record id
    assert "1989-01-08" not in text  # dates in 和暦 only
    assert result.row_count == 4
    assert result.replacements == ((4, "氏名"),)  # the IVS glyph variant could not be drawn


def test_every_page_carries_caution_number_and_page_x_of_y() -> None:
    rows = [reg(i, "髙橋 花子" if i % 2 else "𠮷田 一郎") for i in range(1, 121)]
    data, result = export(rows)
    texts = page_texts(data)
    total = len(texts)
    assert total >= 3
    assert result.page_count == total
    for number, text in enumerate(texts, start=1):
        assert "取扱注意" in text
        assert "EXP-20261126-000042" in text
        assert "団体内統合宛名番号" in text  # the header row repeats on every page
        assert re.search(rf"ページ {number} /\s*{total}\b", text), text[-200:]
    assert all(f"{i:010d}" in "".join(texts) for i in range(1, 121))


def test_first_page_renders_with_ink_and_red_caution() -> None:
    data, _ = export(dummy_rows())
    pdf = pdfium.PdfDocument(data)
    try:
        bitmap = pdf[0].render(scale=1)
        width, height, stride, channels = bitmap.width, bitmap.height, bitmap.stride, bitmap.n_channels
        assert width > height  # landscape
        raw = bytes(bitmap.buffer)
    finally:
        pdf.close()
    dark = red = 0
    for y in range(0, height, 2):
        row = raw[y * stride : y * stride + width * channels]
        for x in range(0, width * channels, channels * 2):
            b, g, r = row[x], row[x + 1], row[x + 2]  # BGR
            if r < 90 and g < 90 and b < 90:
                dark += 1
            elif r > 150 and g < 80 and b < 80:
                red += 1
    assert dark > 500
    assert red > 50


def test_page_is_a4_landscape_and_font_embedded() -> None:
    data, _ = export(dummy_rows())
    reader = pypdf.PdfReader(io.BytesIO(data))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 595)
    embedded = []
    resources = cast(pypdf.generic.DictionaryObject, reader.pages[0]["/Resources"])
    for ref in cast(pypdf.generic.DictionaryObject, resources["/Font"]).values():
        font = ref.get_object()
        if "/FontDescriptor" in font:  # reportlab also lists its initial Helvetica, unused
            assert "/FontFile2" in font["/FontDescriptor"]  # embedded TrueType subset
            embedded.append(str(font["/BaseFont"]))
    assert embedded
    face = fonts.load_font().ttfont.face.name.decode("ascii")
    assert all(face in name for name in embedded)
    info = reader.metadata
    assert info is not None
    assert info.title == META.title


def test_empty_export_is_one_page_saying_so() -> None:
    data, result = export([])
    texts = page_texts(data)
    assert result.page_count == 1
    assert result.row_count == 0
    assert "該当するデータはありません" in texts[0]
    assert "取扱注意" in texts[0]


def test_long_names_wrap_inside_their_cell() -> None:
    long_name = "長谷川" * 15 + " 花子"
    data, _ = export([reg(1, long_name)])
    text = page_texts(data)[0].replace("\n", "")
    assert long_name in text


def test_every_character_of_the_dummy_data_set_is_drawn() -> None:
    """All names and department names of the committed dummy set print without 〓 (IVS aside)."""
    from dvflag_plugin.dummydata.loader import load_small

    ds = load_small()
    rows = []
    for i, r in enumerate(ds.registrations, start=1):
        person = ds.person(r.address_no)
        dept = ds.department(r.dept_code)
        rows.append(
            Registration(
                record_id=i,
                address_no=r.address_no,
                name=person.name,
                sex_code=person.sex_code,
                birth_date=person.birth_date,
                dept_code=dept.dept_code,
                dept_name=dept.dept_name,
                input_date=r.input_date,
                release_date=r.release_date,
                row_version=1,
            )
        )
    assert rows
    data, result = export(rows)
    for row_no, column in result.replacements:
        assert column == "氏名"
        assert any(is_variation_selector(ch) for ch in rows[row_no - 1].name)
    text = "".join(page_texts(data)).replace("\n", "")
    for row in rows:
        shown = "".join(ch for ch in row.name if not is_variation_selector(ch))
        assert shown.replace(" ", "") in text.replace(" ", "")


def test_to_unicode_map_uses_utf16_surrogates() -> None:
    cmap = make_to_unicode_cmap("F1", [0x20, 0x9AD9, 0x20BB7])
    assert "<00> <0020>" in cmap
    assert "<01> <9AD9>" in cmap
    assert "<02> <D842DFB7>" in cmap


def test_font_lookup_env_var_and_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(fonts.ENV_VAR, str(tmp_path / "missing.ttf"))
    with pytest.raises(fonts.PdfFontUnavailableError) as info:
        fonts.find_font_path()
    assert "fonts-ipamj-mincho" in info.value.message
    monkeypatch.delenv(fonts.ENV_VAR)
    monkeypatch.setattr(fonts, "CANDIDATES", (str(tmp_path / "none.ttf"),))
    with pytest.raises(fonts.PdfFontUnavailableError) as info:
        fonts.find_font_path()
    assert "fonts-ipamj-mincho" in info.value.message
    monkeypatch.undo()
    real = fonts.find_font_path()
    monkeypatch.setenv(fonts.ENV_VAR, str(real))
    assert fonts.find_font_path() == real


def test_not_a_truetype_font_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.ttf"
    bogus.write_bytes(b"OTTO" + bytes(64))
    monkeypatch.setenv(fonts.ENV_VAR, str(bogus))
    with pytest.raises(fonts.PdfFontUnavailableError) as info:
        fonts.load_font()
    assert "TrueType" in info.value.message


def test_installed_font_covers_the_hard_characters() -> None:
    font = fonts.load_font()
    for ch in "𠮷髙﨑邉齋〓取扱注意":
        assert font.has_glyph(ch), ch
