"""Write report.pdf: a three-page text PDF (real text layer) for the page-grounding sample.

Run from the repository root: ``python data/docs/make_report.py``. The output is reproducible
(no creation date); the page texts are listed in PAGES below.
"""

from pathlib import Path

import matplotlib

matplotlib.use("pdf")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402

PAGES = [
    ("Annual Report 2023", [
        "Revenue reached 4,210 units in 2023, up 12% on the year before.",
        "The board met four times and approved the budget.",
    ]),
    ("Operations", [
        "The committee approved the plan to open two new sites.",
        "Staff grew to 185 people across three offices.",
    ]),
    ("Risks", [
        "Supply costs rose by 7.5% in the second half of the year.",
        "Currency changes remain the main risk for 2024.",
    ]),
]


def main(out: Path = Path(__file__).with_name("report.pdf")) -> None:
    with PdfPages(out, metadata={"CreationDate": None, "Creator": "halluscope sample",
                                 "Title": "Annual Report 2023"}) as pdf:
        for number, (title, lines) in enumerate(PAGES, 1):
            fig = plt.figure(figsize=(8.27, 11.69))          # A4 portrait
            fig.text(0.1, 0.9, title, fontsize=20, weight="bold")
            for i, line in enumerate(lines):
                fig.text(0.1, 0.84 - 0.04 * i, line, fontsize=12)
            fig.text(0.5, 0.05, f"Page {number}", fontsize=10, ha="center")
            pdf.savefig(fig)
            plt.close(fig)


if __name__ == "__main__":
    main()
