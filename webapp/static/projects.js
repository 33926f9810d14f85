// The registry's forms: add a schedule row, and show the reserve fields only for 储备.
// Everything works without JavaScript (blank rows are offered, the reserve fields shown).
document.addEventListener('DOMContentLoaded', function () {
  var add = document.getElementById('add-month');
  var body = document.getElementById('schedule-rows');
  if (add && body) {
    add.hidden = false;
    add.addEventListener('click', function () {
      var rows = body.querySelectorAll('tr.schedule-row');
      var last = rows[rows.length - 1];
      var copy = last.cloneNode(true);
      var n = rows.length;
      copy.querySelectorAll('input').forEach(function (input) {
        input.name = input.name.replace(/^schedule-\d+-/, 'schedule-' + n + '-');
        input.value = '';
      });
      copy.querySelectorAll('.error').forEach(function (p) { p.remove(); });
      copy.querySelectorAll('.has-error').forEach(function (td) { td.classList.remove('has-error'); });
      body.appendChild(copy);
      copy.querySelector('input').focus();
    });
  }
  document.querySelectorAll('[data-reserve-for]').forEach(function (box) {
    var stage = document.getElementById(box.getAttribute('data-reserve-for'));
    if (!stage || stage.tagName !== 'SELECT') { return; }
    var sync = function () { box.hidden = stage.value !== 'reserve'; };
    stage.addEventListener('change', sync);
    sync();
  });
});
