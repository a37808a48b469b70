"""Writing the starter PDF (fpdf2, DejaVuSans embedded) from a parsed source."""

from __future__ import annotations

import logging
from pathlib import Path

from starter_source import CREATOR, FONT_DIR, PUBLISHER, RELEASE_DATE, Source

log = logging.getLogger("starter.build")

# --------------------------------------------------------------------------------------------
# PDF


def build_pdf(source: Source, out_dir: Path) -> Path:
    """Write <slug>.pdf: one A4 page per chapter, DejaVuSans embedded as a subset."""
    from fpdf.enums import XPos, YPos

    meta = source.meta
    pdf = calendar_pdf_class()(meta["title"])
    pdf.set_creation_date(RELEASE_DATE)
    pdf.set_lang(meta["language"])
    pdf.set_title(meta["title"])
    pdf.set_author(CREATOR)
    # Readers take /Subject as the description and /Keywords as the subjects: one category only.
    pdf.set_subject(meta["description"])
    pdf.set_keywords(meta["subject"])
    pdf.set_creator(PUBLISHER)
    pdf.set_producer(PUBLISHER)
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(True, margin=16)
    pdf.set_margins(16, 14, 16)
    newline = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}
    for number, chapter in enumerate(source.chapters, start=1):
        pdf.add_page()
        pdf.set_fill_color(86, 140, 64)
        pdf.rect(0, 0, pdf.w, 8, style="F")
        pdf.set_font("DejaVu", "", 9)
        pdf.set_text_color(90, 90, 90)
        pdf.cell(0, 6, f"{meta['title']} · {number}/{len(source.chapters)}", **newline)
        pdf.set_text_color(0, 0, 0)
        pdf.set_font("DejaVu", "B", 17)
        pdf.multi_cell(0, 8.5, chapter.title, **newline)
        pdf.ln(2)
        for kind, payload in chapter.blocks:
            pdf_block(pdf, kind, payload, newline)
        if pdf.page != number:
            log.warning("%s: chapter %d (%s) runs over one page", source.path.name, number, chapter.title)
    path = out_dir / f"{source.slug}.pdf"
    pdf.output(str(path))
    return path


def calendar_pdf_class():
    """An FPDF subclass whose footer prints the publisher, licence and page number."""
    from fpdf import FPDF

    class CalendarPDF(FPDF):
        """A4 pages with a small footer."""

        def __init__(self, title: str):
            super().__init__(format="A4")
            self.book_title = title

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", "", 8)
            self.set_text_color(110, 110, 110)
            self.cell(0, 5, f"{PUBLISHER} · CC0 1.0 · {self.page_no()}", align="C")
            self.set_text_color(0, 0, 0)

    return CalendarPDF


def pdf_block(pdf, kind: str, payload, newline: dict) -> None:
    """Draw one block on the current PDF page."""
    plain = lambda text: text.replace("**", "")  # noqa: E731
    if kind == "p":
        pdf.set_font("DejaVu", "", 12)
        pdf.multi_cell(0, 6.2, plain(payload), **newline)
        pdf.ln(1.5)
    elif kind == "h2":
        pdf.ln(1)
        pdf.set_font("DejaVu", "B", 13.5)
        pdf.multi_cell(0, 7, plain(payload), **newline)
        pdf.ln(0.5)
    elif kind == "note":
        pdf.set_font("DejaVu", "", 11.5)
        pdf.set_fill_color(238, 247, 232)
        pdf.multi_cell(0, 6, plain(payload), fill=True, padding=2, **newline)
        pdf.ln(1.5)
    elif kind in ("ul", "ol"):
        pdf.set_font("DejaVu", "", 12)
        for index, item in enumerate(payload, start=1):
            marker = "•" if kind == "ul" else f"{index}."
            pdf.cell(7, 6.2, marker)
            pdf.multi_cell(0, 6.2, plain(item), **newline)
            pdf.ln(0.6)
        pdf.ln(1)
    elif kind == "calendar":
        draw_calendar(pdf, payload)
    elif kind == "table":
        pdf.set_font("DejaVu", "", 9.5)
        with pdf.table(line_height=5.2, first_row_as_headings=True) as table:
            for row in payload:
                cells = table.row()
                for cell in row:
                    cells.cell(plain(cell))
        pdf.ln(2)


def draw_calendar(pdf, rows: list[tuple[str, list[int]]]) -> None:
    """A twelve-month grid: one row per task, filled boxes for its months."""
    label_width = 76
    box = (pdf.w - pdf.l_margin - pdf.r_margin - label_width) / 12
    height = 8
    pdf.set_font("DejaVu", "B", 9.5)
    x0 = pdf.l_margin
    y = pdf.get_y()
    pdf.set_xy(x0, y)
    pdf.cell(label_width, height, "Tháng (dương lịch)", border=1)
    for month in range(1, 13):
        pdf.cell(box, height, str(month), border=1, align="C")
    y += height
    pdf.set_font("DejaVu", "", 9.5)
    for label, months in rows:
        pdf.set_xy(x0, y)
        pdf.cell(label_width, height, label, border=1)
        for month in range(1, 13):
            fill = month in months
            pdf.set_fill_color(241, 200, 82)
            pdf.cell(box, height, "●" if fill else "", border=1, align="C", fill=fill)
        y += height
    pdf.set_xy(x0, y + 3)
