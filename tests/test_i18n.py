"""Vietnamese first, English too: the pages, the language switcher and the catalogues."""

import ast
import gettext
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.urls import reverse

from generations.models import Status

LOCALE = Path(django_settings.BASE_DIR) / "locale"
LANGUAGE_CODES = [code for code, _name in django_settings.LANGUAGES]
# What makemessages reads; the rest of the tree (tests, tools, data) holds no UI strings.
SOURCE_DIRS = ["credits", "generations", "rivyaweb", "sandbox", "teams", "templates"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\{\s*\w+\s*\}\}")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str = ""
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)


def parse_po(path: Path) -> list[Entry]:
    """The entries of a .po file, header first; obsolete (#~) entries are left out."""
    entries: list[Entry] = []
    entry, target = Entry(), ""

    def finish() -> None:
        nonlocal entry, target
        if target:
            entries.append(entry)
        entry, target = Entry(), ""

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#,"):
            if target.startswith("msgstr"):
                finish()
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        keyword, _space, rest = line.partition(" ")
        if line.startswith('"'):
            keyword, rest = target, line
        elif keyword in ("msgctxt", "msgid") and target.startswith("msgstr"):
            finish()
        target = keyword
        text = ast.literal_eval(rest)
        if keyword == "msgctxt":
            entry.msgctxt = (entry.msgctxt or "") + text
        elif keyword == "msgid":
            entry.msgid += text
        elif keyword == "msgid_plural":
            entry.msgid_plural += text
        else:
            index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
            entry.msgstr[index] = entry.msgstr.get(index, "") + text
    finish()
    return entries


def po_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / "django.po"


def login_page(client, **headers):
    return client.get(reverse("login"), headers=headers).content.decode()


# --- Pages ---------------------------------------------------------------------------


def test_login_page_is_vietnamese_by_default(client):
    page = login_page(client)
    assert '<html lang="vi">' in page
    assert "<h1>Đăng nhập</h1>" in page
    assert "Tên đăng nhập" in page
    assert "Mật khẩu" in page


def test_home_page_is_vietnamese_by_default(owner_client):
    page = owner_client.get(reverse("home")).content.decode()
    assert '<html lang="vi">' in page
    for text in ("Tạo video", "Mô tả", "Thời lượng", "Âm thanh", "Tỉ lệ khung hình"):
        assert text in page
    assert "Ảnh tham chiếu" in page
    assert "Đăng xuất" in page
    assert "Make the video" not in page


def test_english_follows_the_browser(client, owner_client):
    assert "<h1>Log in</h1>" in login_page(client, accept_language="en-US,en;q=0.9")
    page = owner_client.get(reverse("home"), headers={"accept-language": "en"}).content.decode()
    assert '<html lang="en">' in page
    assert "Make the video" in page
    assert "Aspect ratio" in page
    assert "Log out" in page


def test_switcher_posts_to_set_language_on_every_page(client, owner_client):
    set_language = reverse("set_language")
    for page in (login_page(client), owner_client.get(reverse("home")).content.decode()):
        form = page[page.index(f'action="{set_language}"') :]
        form = form[: form.index("</form>")]
        assert 'name="csrfmiddlewaretoken"' in form
        assert re.search(r'<button type="submit" name="language" value="vi"[^>]*>Tiếng Việt<', form)
        assert re.search(r'<button type="submit" name="language" value="en"[^>]*>English<', form)
        assert re.search(r'value="vi"[^>]*aria-pressed="true"', form)
        assert re.search(r'value="en"[^>]*aria-pressed="false"', form)


def test_chosen_language_sticks_over_the_browsers(owner_client):
    home = reverse("home")
    response = owner_client.post(reverse("set_language"), {"language": "en", "next": home})
    assert response.status_code == 302
    assert response["Location"] == home
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "en"
    page = owner_client.get(home).content.decode()
    assert "Make the video" in page
    assert re.search(r'value="en"[^>]*aria-pressed="true"', page)

    owner_client.post(reverse("set_language"), {"language": "vi", "next": home})
    page = owner_client.get(home, headers={"accept-language": "en"}).content.decode()
    assert "Tạo video" in page


def test_form_errors_are_vietnamese(owner_client):
    response = owner_client.post(reverse("home"), {"prompt": "", "duration": 5})
    assert "Hãy mô tả video bạn muốn." in response.content.decode()


def test_cards_speak_vietnamese(owner_client, add_generation):
    add_generation(status=Status.QUEUED, notice="rate_limited")
    add_generation(status=Status.REJECTED, error_code="insufficient_credits")
    page = owner_client.get(reverse("home")).content.decode()
    assert "Rivya đang bận và đề nghị chúng tôi chậm lại" in page  # the one banner
    assert "Đang chờ Rivya" in page
    assert "Thất bại" in page
    assert "Không đủ tín dụng cho video này." in page
    assert "Thử lại" in page
    assert "5 giây" in page


def test_time_since_a_deletion_is_vietnamese(owner_client, add_ready_video):
    # Django's own Vietnamese catalogue misses the words timesince asks for.
    generation = add_ready_video()
    owner_client.post(reverse("generation_delete", args=[generation.pk]))
    page = owner_client.get(generation.get_absolute_url()).content.decode()
    assert "Video này đã bị xóa 0\xa0phút trước." in page
    assert "minute" not in page


def test_signup_username_help_is_vietnamese(client, settings):
    settings.ALLOW_SIGNUP = True
    page = client.get(reverse("signup")).content.decode()
    assert "Bắt buộc. Tối đa 150 ký tự, chỉ gồm chữ cái, chữ số và @/./+/-/_." in page
    assert "Yêu cầu." not in page


# --- Catalogues ----------------------------------------------------------------------


def test_vietnamese_catalogue_is_complete():
    header, *entries = parse_po(po_path("vi"))
    assert header.msgid == ""
    assert "fuzzy" not in header.flags
    assert "Plural-Forms: nplurals=1; plural=0;" in header.msgstr[0]
    assert len(entries) > 100
    untranslated = [e.msgid for e in entries if not e.msgstr.get(0) or not all(e.msgstr.values())]
    assert untranslated == []
    assert [e.msgid for e in entries if "fuzzy" in e.flags] == []


def test_translations_keep_their_placeholders():
    for entry in parse_po(po_path("vi"))[1:]:
        expected = set(PLACEHOLDER.findall(entry.msgid))
        assert set(PLACEHOLDER.findall(entry.msgstr[0])) == expected, entry.msgid


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_compiled_catalogue_matches_its_po(language):
    translated: dict[object, str] = {}
    for entry in parse_po(po_path(language))[1:]:
        if entry.msgid_plural:
            for index, text in entry.msgstr.items():
                if text:
                    translated[(entry.msgid, index)] = text
        elif entry.msgstr.get(0):
            translated[entry.msgid] = entry.msgstr[0]
    with open(po_path(language).with_suffix(".mo"), "rb") as mo:
        compiled = dict(gettext.GNUTranslations(mo)._catalog)
    compiled.pop("", None)
    assert compiled == translated


def test_makemessages_finds_no_new_strings(tmp_path, settings, monkeypatch):
    if not shutil.which("xgettext"):
        pytest.fail("xgettext is missing: install the gettext package")
    for name in SOURCE_DIRS:
        shutil.copytree(
            Path(django_settings.BASE_DIR) / name,
            tmp_path / name,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    shutil.copytree(LOCALE, tmp_path / "locale")
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(tmp_path)
    call_command("makemessages", locale=LANGUAGE_CODES, verbosity=0)
    for language in LANGUAGE_CODES:
        committed = {e.key for e in parse_po(po_path(language))}
        fresh = {e.key for e in parse_po(tmp_path / "locale" / language / "LC_MESSAGES/django.po")}
        assert fresh - committed == set(), f"run makemessages: new strings for {language}"
        assert committed - fresh == set(), f"run makemessages: strings gone for {language}"
