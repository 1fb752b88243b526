// ipywidgets' html-manager typesets widget labels with the MathJax 2 call MathJax.Hub.Queue;
// the book loads MathJax 3, which has no Hub. Give every real MathJax object a Hub.Queue
// that forwards to MathJax 3's typesetPromise (this file loads before MathJax).
(function () {
  var current = window.MathJax;
  function patch(mathjax) {
    if (mathjax && typeof mathjax === "object" && mathjax.version && !mathjax.Hub) {
      mathjax.Hub = {
        Queue: function (job) {
          var element = job && job[2];
          var ready = mathjax.startup && mathjax.startup.promise;
          if (element && ready) {
            ready.then(function () { return mathjax.typesetPromise([element]); }).catch(function () {});
          }
        },
      };
    }
    return mathjax;
  }
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () { return current; },
    set: function (value) { current = patch(value); },
  });
  patch(current);
})();
