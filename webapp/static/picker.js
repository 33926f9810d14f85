// Pickers: a search box above a list of names narrows the list as one types (the list itself
// works without JavaScript; the box stays hidden then). No inline handlers: see the CSP.
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('input.picker-search[data-picker-for]').forEach(function (box) {
    var select = document.getElementById(box.getAttribute('data-picker-for'));
    if (!select) { return; }
    box.hidden = false;
    box.addEventListener('input', function () {
      var query = box.value.trim().toLowerCase();
      var first = null;
      Array.prototype.forEach.call(select.options, function (option) {
        if (!option.value) { return; }  // the "please choose" line stays
        var match = !query || option.text.toLowerCase().indexOf(query) !== -1
          || option.value.toLowerCase().indexOf(query) !== -1;
        option.hidden = !match;
        if (match && first === null) { first = option; }
      });
      var chosen = select.options[select.selectedIndex];
      if (query && first && (!chosen || chosen.hidden || !chosen.value)) {
        select.value = first.value;
      }
    });
  });
});
