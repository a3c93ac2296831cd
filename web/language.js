// language.js – the page's language at start-up (URL, remembered choice, browser) and the language switch.

import {
  DEFAULT_LANGUAGE,
  LANGUAGES,
  autonym,
  chooseLanguage,
  loadLanguage,
  remember,
  remembered,
  translatePage,
} from './i18n.js';
import { writeUrl } from './state.js';

/**
 * Loads the interface's language for `state` (its `lang` is set when not the default), puts the
 * page's texts in it and fills the switch; a choice there is remembered, kept in the URL (by
 * `keep`, the map's address unless a page keeps its own) and shown by reloading the page in
 * that language.
 */
export async function setupLanguage(state, keep = () => writeUrl(state, false)) {
  const chosen = chooseLanguage({
    requested: state.lang,
    stored: remembered(),
    preferred: navigator.languages || [navigator.language],
  });
  let lang = DEFAULT_LANGUAGE;
  try {
    lang = await loadLanguage(chosen);
    translatePage();
  } catch (_) {
    // Without a catalogue the page keeps the English of its HTML.
  }
  state.lang = lang === DEFAULT_LANGUAGE ? null : lang;

  const select = document.getElementById('language');
  if (!select) return lang;
  select.replaceChildren(
    ...LANGUAGES.map((code) => {
      const option = document.createElement('option');
      option.value = code;
      option.lang = code;
      option.textContent = autonym(code);
      return option;
    }),
  );
  select.value = lang;
  select.addEventListener('change', () => {
    remember(select.value);
    state.lang = select.value === DEFAULT_LANGUAGE ? null : select.value;
    keep();
    window.location.reload();
  });
  return lang;
}
