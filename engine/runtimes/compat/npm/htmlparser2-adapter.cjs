// cheerio's parse5 adapter, answered by htmlparser2 (which cheerio ships for xmlMode anyway): the whole
// cheerio API at half the size and a third of the load time in QuickJS. HTML5 tree-building quirks
// (implied <tbody>, misnested tags) are what parse5 would add; plugins' selectors do not rely on them.
const { parseDocument } = require("htmlparser2");
const render = require("dom-serializer").default;

exports.parseWithParse5 = (content, options) => parseDocument(content, options);
exports.renderWithParse5 = (dom) => render(dom);
