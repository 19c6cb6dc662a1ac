// The page's one script: the relevance slider, term selection and the search box.
// It only reads the JSON the page carries and builds nodes with textContent: no network,
// no innerHTML of data. Without it the page still shows every chart at its default.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function json(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // -- relevance explorer (LDAvis) --------------------------------------------------------
  var ex = json("explorer-data");
  if (ex) {
    var topicSelect = document.getElementById("explorer-topic");
    var slider = document.getElementById("lambda");
    var shown = document.getElementById("lambda-value");
    var bars = document.getElementById("explorer-bars");

    // Same ranking as html.explorer_ranking: relevance, ties by term (code-point order).
    // Returns [term index, phi] pairs, best first.
    var ranking = function (c, lam) {
      var scored = ex.candidates[c].map(function (pair) {
        var j = pair[0], p = Math.max(pair[1], 1e-300);
        return [lam * Math.log(p) + (1 - lam) * Math.log(p / ex.share[j]), pair];
      });
      scored.sort(function (a, b) {
        if (a[0] !== b[0]) return b[0] - a[0];
        var x = ex.terms[a[1][0]], y = ex.terms[b[1][0]];
        return x < y ? -1 : x > y ? 1 : 0;
      });
      return scored.slice(0, ex.bars).map(function (s) { return s[1]; });
    };

    var draw = function () {
      var c = Number(topicSelect.value), lam = Number(slider.value);
      shown.textContent = lam.toFixed(2);
      var order = ranking(c, lam);
      var top = Math.max.apply(null, order.map(function (pair) { return ex.count[pair[0]]; })) || 1;
      bars.textContent = "";
      order.forEach(function (pair) {
        var j = pair[0], inTopic = pair[1] * ex.tokens[c];
        var row = el("div", "tb");
        row.dataset.term = ex.terms[j];
        var button = el("button", null, ex.terms[j]);
        button.type = "button";
        var track = el("span", "track");
        var all = el("i", "all"), part = el("i", "in");
        all.style.width = (100 * ex.count[j] / top).toFixed(1) + "%";
        part.style.width = (100 * Math.min(inTopic, ex.count[j]) / top).toFixed(1) + "%";
        track.appendChild(all);
        track.appendChild(part);
        var n = el("span", "n", Math.round(inTopic).toLocaleString("en") + " / " +
          Math.round(ex.count[j]).toLocaleString("en"));
        row.appendChild(button);
        row.appendChild(track);
        row.appendChild(n);
        bars.appendChild(row);
      });
    };

    // A term's topics: p(topic | term) from the topic's probability of it and its tokens,
    // listed down to ex.listed; the topics lit on the map are those whose probability of
    // the term is at least half the highest. The page holds phi for exactly those topics.
    var chooseTerm = function (term) {
      var j = ex.terms.indexOf(term);
      var title = document.getElementById("term-title");
      var list = document.getElementById("term-topics");
      list.textContent = "";
      document.querySelectorAll("#map a[data-topic]").forEach(function (a) { a.classList.remove("hit"); });
      if (j < 0) {
        title.textContent = term ? "“" + term + "” is not among the terms this page holds" : "Choose a term";
        return;
      }
      var holders = ex.holders[j];
      var best = Math.max.apply(null, holders.map(function (h) { return h[1]; }));
      var share = function (h) { return h[1] * ex.tokens[h[0]] / (ex.mass[j] || 1); };
      title.textContent = "“" + term + "” by topic";
      holders.slice().sort(function (a, b) { return share(b) - share(a); }).forEach(function (h) {
        if (share(h) < ex.listed) return;
        var c = h[0];
        var item = el("li", null, "topic " + ex.topics[c] + " · " + ex.labels[c] + ": " + (100 * share(h)).toFixed(1) + "%");
        item.dataset.topic = ex.topics[c];
        list.appendChild(item);
      });
      holders.forEach(function (h) {
        if (h[1] >= best / 2) {
          var a = document.querySelector('#map a[data-topic="' + ex.topics[h[0]] + '"]');
          if (a) a.classList.add("hit");
        }
      });
    };

    topicSelect.addEventListener("change", draw);
    slider.addEventListener("input", draw);
    bars.addEventListener("click", function (e) {
      var row = e.target.closest(".tb");
      if (row) chooseTerm(row.dataset.term);
    });
    var termBox = document.getElementById("term-search");
    termBox.addEventListener("change", function () { chooseTerm(termBox.value.trim()); });
    draw();
  }

  // -- search box ---------------------------------------------------------------------------
  var passages = json("search-data");
  var box = document.getElementById("search-box");
  if (passages && box) {
    var hits = document.getElementById("search-hits");
    var count = document.getElementById("search-count");
    var marked = function (text, q) {
      var p = el("p");
      var at = 0, i;
      while ((i = text.indexOf(q, at)) >= 0) {
        p.appendChild(document.createTextNode(text.slice(at, i)));
        p.appendChild(el("mark", null, q));
        at = i + q.length;
      }
      p.appendChild(document.createTextNode(text.slice(at)));
      return p;
    };
    var held = passages.length;
    var search = function () {
      var q = box.value.trim();
      hits.textContent = "";
      if (!q) { count.textContent = ""; return; }
      var groups = {}, order = [], n = 0, seen = {};
      passages.forEach(function (s) {
        var key = s.w + "\u0000" + s.t;
        if (seen[key] || (s.x.indexOf(q) < 0 && s.d.indexOf(q) < 0 && (s.n || "").indexOf(q) < 0)) return;
        seen[key] = true;
        if (!groups[s.t]) { groups[s.t] = []; order.push(s.t); }
        groups[s.t].push(s);
        n += 1;
      });
      // The page holds a few passages per topic, not the corpus: say so, above all when
      // nothing is found, so that "0" is not read as "the corpus never says it".
      count.textContent = n.toLocaleString("en") + " of the " + held.toLocaleString("en") +
        " passages this page holds " + (n === 1 ? "contains" : "contain") + " \u201c" + q +
        "\u201d; the rest of the corpus is in units.jsonl";
      order.forEach(function (t) {
        var card = document.querySelector("#topic-" + t + " h3");
        var head = el("h4");
        var link = el("a", null, "Topic " + t);
        link.href = "#topic-" + t;
        head.appendChild(link);
        head.appendChild(document.createTextNode(card ? card.textContent.replace(/^Topic \d+/, "") : ""));
        hits.appendChild(head);
        groups[t].forEach(function (s) {
          var quote = el("blockquote");
          quote.dataset.topic = t;
          quote.appendChild(marked(s.x, q));
          var foot = el("footer");
          if (s.n) foot.appendChild(el("cite", null, s.n));
          foot.appendChild(document.createTextNode((s.n ? " \u00b7 " : "") + (s.a ? s.a + " \u00b7 " : "")));
          foot.appendChild(el("code", null, s.w));
          quote.appendChild(foot);
          hits.appendChild(quote);
        });
      });
    };
    box.addEventListener("input", search);
  }
})();
