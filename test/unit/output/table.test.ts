import assert from 'node:assert/strict';
import {renderTable, tableOptions, type Column} from '../../../src/output/table.js';

interface Row {
  name: string;
  state: string;
}

const columns: Column<Row>[] = [
  {header: 'name', value: (r) => r.name},
  {header: 'state', value: (r) => r.state, color: (r) => (r.state === 'gone' ? (t) => `<red>${t}</red>` : undefined)},
];
const rows: Row[] = [
  {name: 'web', state: 'running'},
  {name: 'database', state: 'gone'},
];

describe('output/table', () => {
  it('prints tab-separated rows without a header when piped', () => {
    assert.equal(renderTable(rows, columns, {isTTY: false, color: false}), 'web\trunning\ndatabase\tgone\n');
  });

  it('aligns columns under an upper-case header on a terminal', () => {
    assert.equal(renderTable(rows, columns, {isTTY: true, color: false}), 'NAME      STATE\nweb       running\ndatabase  gone\n');
  });

  it('colours only on a colour terminal, after padding', () => {
    const out = renderTable(rows, columns, {isTTY: true, color: true}, (t) => `<b>${t}</b>`);
    assert.equal(out, '<b>NAME      STATE</b>\nweb       running\ndatabase  <red>gone</red>\n');
  });

  it('honours NO_COLOR and TERM=dumb', () => {
    assert.deepEqual(tableOptions({isTTY: true}, {}), {isTTY: true, color: true});
    assert.deepEqual(tableOptions({isTTY: true}, {NO_COLOR: ''}), {isTTY: true, color: false});
    assert.deepEqual(tableOptions({isTTY: true}, {TERM: 'dumb'}), {isTTY: true, color: false});
    assert.deepEqual(tableOptions({isTTY: false}, {}), {isTTY: false, color: false});
  });
});
