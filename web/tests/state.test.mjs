// state.test.mjs – the URL form of the view state (no browser needed): round trips and malformed input.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultState, formatState, parseState } from '../state.js';
import { filterParams } from '../api.js';

test('a state survives a round trip through the query string', () => {
  const state = defaultState();
  state.center = [48.2082, 16.3738];
  state.zoom = 9;
  state.filters.skill_area = ['data_ai', 'cybersecurity'];
  state.filters.country = ['AT', 'DE'];
  state.q = 'café & co';
  state.selected = 'at-42-vienna';
  state.near = { lat: 48.2, lon: 16.37 };
  state.radius = 120;
  const search = formatState(state);
  assert.match(search, /skill_area=data_ai,cybersecurity/);
  assert.deepEqual(parseState(search), state);
});

test('the default state has a short URL', () => {
  assert.equal(formatState(defaultState()), '#c=51.0000,10.0000&z=4');
});

test('malformed values are ignored, not trusted', () => {
  const state = parseState('?c=500,10&z=99&kind=hub,<script>&country=de&r=9999&near=1,2,3&sel=');
  assert.deepEqual(state.center, defaultState().center);
  assert.equal(state.zoom, defaultState().zoom);
  assert.deepEqual(state.filters.kind, ['hub']);
  assert.deepEqual(state.filters.country, ['DE']);
  assert.equal(state.radius, defaultState().radius);
  assert.equal(state.near, null);
  assert.equal(state.selected, null);
});

test('a query string is read as well as a hash', () => {
  assert.deepEqual(parseState('?c=50,10&z=5&kind=hub'), parseState('#c=50,10&z=5&kind=hub'));
});

test('only the API filter parameters are sent', () => {
  const state = parseState('?c=50,10&z=5&kind=hub&q=%20cyber%20&sel=x&near=50,10&r=20');
  assert.equal(filterParams(state).toString(), 'kind=hub&q=cyber');
});
