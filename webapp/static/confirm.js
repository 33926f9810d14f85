// Buttons with data-confirm ask before their form is sent (no inline handlers: see the CSP).
document.addEventListener('click', function (event) {
  var button = event.target.closest('[data-confirm]');
  if (button && !window.confirm(button.getAttribute('data-confirm'))) {
    event.preventDefault();
  }
});
// Buttons with data-print print the page (instead of a javascript: link, which the CSP blocks).
document.addEventListener('click', function (event) {
  if (event.target.closest('[data-print]')) { window.print(); }
});
