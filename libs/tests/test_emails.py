"""normalise_email: the spellings of one address are one address."""

import pytest

from pingvas_kit.emails import normalise_email


@pytest.mark.parametrize(
    "spelling",
    [
        "eve@x.com",
        "  Eve@X.com ",
        '"Eve" <eve@x.com>',
        "Eve Example <EVE@x.com>",
        "ｅｖｅ＠ｘ．ｃｏｍ",  # full-width
        '"Ｅｖｅ" ＜ＥＶＥ@x.com＞',
    ],
)
def test_every_spelling_of_one_address_is_the_same_address(spelling):
    assert normalise_email(spelling) == "eve@x.com"


def test_different_addresses_stay_different_and_long_ones_are_cut():
    assert normalise_email("eve@x.com") != normalise_email("eve2@x.com")
    assert len(normalise_email("a" * 400 + "@x.com")) == 320
