"""PDF writer (issues 5, 10): extract the text with pypdf, read the content streams, render pages with pypdfium2."""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Iterator
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
IVS_NAME = "葛\U000e0100城 三郎"  # 葛 + VS17: not registered in IPAmj明朝 (base glyph, reported)
TSUJI_VARIANT = "辻\U000e0102"  # 辻 + VS19: registered, drawn with its own one-dot glyph (mj025760)


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


def render(data: bytes, page: int = 0, scale: float = 2) -> tuple[int, int, list[bytes]]:
    """Width, height and the BGR rows (3 bytes a pixel) of a rendered page."""
    pdf = pdfium.PdfDocument(data)
    try:
        bitmap = pdf[page].render(scale=scale, rev_byteorder=False, prefer_bgrx=False)
        width, height, stride = bitmap.width, bitmap.height, bitmap.stride
        assert bitmap.n_channels == 3
        raw = bytes(bitmap.buffer)
    finally:
        pdf.close()
    return width, height, [raw[y * stride : (y + 1) * stride] for y in range(height)]


def pixels(rows: list[bytes], box: tuple[int, int, int, int]) -> Iterator[tuple[int, int, int]]:
    """(r, g, b) of every pixel inside ``box`` = (left, top, right, bottom)."""
    left, top, right, bottom = box
    for row in rows[top:bottom]:
        for x in range(left * 3, right * 3, 3):
            yield row[x + 2], row[x + 1], row[x]


def shown_text_modes(data: bytes) -> list[list[int]]:
    """Per page, the text render mode of every text-showing operator, following q/Q (which save it)."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    pages = []
    for page in reader.pages:
        ops = pypdf.generic.ContentStream(page.get_contents(), reader).operations
        mode, stack, shown = 0, [], []
        for operands, operator in ops:
            if operator == b"q":
                stack.append(mode)
            elif operator == b"Q":
                mode = stack.pop()
            elif operator == b"Tr":
                mode = int(operands[0])
            elif operator in (b"Tj", b"TJ", b"'", b'"'):
                shown.append(mode)
        pages.append(shown)
    return pages


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
        "No.",
        "合計　4 件",
        "以上",
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
    width, height, rows = render(data, scale=1)
    assert width > height  # landscape
    dark = red = 0
    for r, g, b in pixels(rows, (0, 0, width, height)):
        if r < 90 and g < 90 and b < 90:
            dark += 1
        elif r > 150 and g < 80 and b < 80:
            red += 1
    assert dark > 2000
    assert red > 200


def test_only_the_header_stamp_is_stroked() -> None:
    """The stamp's fill+stroke render mode (2) must not leak: every other glyph is filled only (0)."""
    data, _ = export(dummy_rows() * 30)  # several pages
    pages = shown_text_modes(data)
    assert len(pages) >= 2
    for modes in pages:
        assert len(modes) > 20
        assert modes.count(2) == 1  # the 取扱注意 stamp
        assert set(modes) == {0, 2}


def test_footer_caution_is_red_not_black() -> None:
    data, _ = export(dummy_rows())
    width, height, rows = render(data, scale=2)
    footer_right = (width * 3 // 4, height - 50, width, height)  # the footer's 取扱注意, bottom right
    red = dark = 0
    for r, g, b in pixels(rows, footer_right):
        if r > 120 and g < 90 and b < 90:
            red += 1
        elif r < 110 and g < 110 and b < 110:
            dark += 1
    assert red > 60
    assert dark < red // 10  # no black outline around the red glyphs


def _surname_glyph(name: str) -> tuple[list[tuple[int, int, int]], WrittenOutput, str]:
    """The rendered pixels of the first glyph of 氏名 in the first row, the writer's result, the text."""
    from dvflag_plugin.outputs.pdf_writer import HEADER_ROW_HEIGHT, MARGIN_TOP, MARGIN_X, PAD, column_widths

    data, result = export([reg(1, name)])
    _, _, rows = render(data, scale=3)
    widths = column_widths(fonts.load_font().name)
    left = int((MARGIN_X + widths[0] + widths[1] + PAD - 1) * 3)
    top = int((MARGIN_TOP + 60 + HEADER_ROW_HEIGHT + 1) * 3)
    return list(pixels(rows, (left, top, left + 11 * 3, top + 12 * 3))), result, page_texts(data)[0]


def test_registered_variation_sequence_prints_its_own_glyph() -> None:
    """辻 + VS19 is drawn as the font's variant glyph; 辻 + VS17 (not registered) as plain 辻, reported."""
    plain, plain_result, _ = _surname_glyph("辻 五郎")
    variant, variant_result, variant_text = _surname_glyph(f"{TSUJI_VARIANT} 五郎")
    unregistered, unregistered_result, _ = _surname_glyph("辻\U000e0100 五郎")
    same_glyph, same_glyph_result, _ = _surname_glyph("辻\U000e0103 五郎")  # registered: plain 辻's glyph
    assert sum(1 for r, _, _ in plain if r < 128) > 30  # the box really holds the glyph
    assert sum(1 for p, v in zip(plain, variant, strict=True) if p != v) > 20
    assert unregistered == plain
    assert same_glyph == plain
    assert variant_result.replacements == same_glyph_result.replacements == plain_result.replacements == ()
    assert unregistered_result.replacements == ((1, "氏名"),)
    assert f"{TSUJI_VARIANT} 五郎" in variant_text  # copy/extraction gives the whole sequence back


def test_all_department_list_starts_each_department_on_a_new_page() -> None:
    rows = [
        reg(1, "髙橋 花子"),
        reg(2, "山﨑 次郎"),
        reg(3, "𠮷田 一郎", dept_code="D0301", dept_name="男女共同参画課"),
    ]
    data = io.BytesIO()
    result = write_pdf(iter(rows), dataclasses.replace(META, group_by_department=True), data)
    texts = page_texts(data.getvalue())
    assert result.page_count == len(texts) == 2
    first, second = texts
    assert "所属 D0201 子ども家庭課" in first and "0000000001" in first and "0000000002" in first
    assert "小計（D0201 子ども家庭課）　2 件" in first
    assert "D0301" not in first and "合計" not in first and "以上" not in first
    assert "所属 D0301 男女共同参画課" in second and "0000000003" in second
    assert "小計（D0301 男女共同参画課）　1 件" in second
    assert "合計　3 件" in second and second.count("以上") == 1
    assert re.search(r"\b3 0000000003\b", second)  # row numbers run on across departments


def test_total_and_end_mark_close_the_last_page_only() -> None:
    rows = [reg(i, "髙橋 花子") for i in range(1, 121)]
    texts = page_texts(export(rows)[0])
    assert len(texts) >= 3
    assert all("合計" not in t and "以上" not in t for t in texts[:-1])
    assert "合計　120 件" in texts[-1] and "以上" in texts[-1]
    assert re.search(r"\b120 0000000120\b", texts[-1])


def test_page_is_a4_landscape_and_font_embedded() -> None:
    data, _ = export(dummy_rows())
    reader = pypdf.PdfReader(io.BytesIO(data))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 595)
    embedded = []
    resources = cast(pypdf.generic.DictionaryObject, reader.pages[0]["/Resources"])
    for ref in cast(pypdf.generic.DictionaryObject, resources["/Font"]).values():
        font = ref.get_object()
        assert "/FontFile2" in font["/FontDescriptor"]  # embedded TrueType subset; no base-14 font at all
        embedded.append(str(font["/BaseFont"]))
    assert embedded
    assert b"Helvetica" not in data  # reportlab's initial font is not declared anywhere in the file
    face = fonts.load_font().ttfont.face.name.decode("ascii")
    assert all(face in name for name in embedded)
    info = reader.metadata
    assert info is not None
    assert info.title == META.title
    assert info.creation_date == META.generated_at  # the host's clock, not the machine's wall time


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
    """Every name and department name of the committed dummy set prints without 〓 (unregistered IVS aside)."""
    from dvflag_plugin.dummydata.loader import load_small

    ds = load_small()
    rows = []
    for i, person in enumerate(ds.people, start=1):
        dept = ds.departments[i % len(ds.departments)]
        rows.append(
            Registration(
                record_id=i,
                address_no=person.address_no,
                name=person.name,
                sex_code=person.sex_code,
                birth_date=person.birth_date,
                dept_code=dept.dept_code,
                dept_name=dept.dept_name,
                input_date=date(2024, 4, 1),
                release_date=None,
                row_version=1,
            )
        )
    assert rows
    data, result = export(rows)
    for row_no, column in result.replacements:
        assert column == "氏名"
        assert any(is_variation_selector(ch) for ch in rows[row_no - 1].name)
    text = "".join(ch for ch in "".join(page_texts(data)) if not is_variation_selector(ch) and not ch.isspace())
    for row in rows:
        shown = "".join(ch for ch in row.name if not is_variation_selector(ch) and not ch.isspace())
        assert shown in text
    assert any(TSUJI_VARIANT in row.name for row in rows)  # the set holds a sequence the font draws
    assert all(TSUJI_VARIANT not in rows[n - 1].name for n, _ in result.replacements)


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
