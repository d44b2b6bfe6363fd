// The entry of the console's bundle: every page loads /console/app.js and
// names itself in <body data-page>.

import './app.css';
import { start as startConsole } from './console.js';
import { start as startReceipt } from './receipt.js';
import { start as startStore } from './store.js';
import { start as startTrack } from './track.js';

const pages = { console: startConsole, track: startTrack, store: startStore, receipt: startReceipt };

const root = document.getElementById('app');
const start = pages[document.body.dataset.page];
if (root && start) {
  start(root);
  document.documentElement.dataset.ready = 'true';
}
