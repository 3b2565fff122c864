"""WTForms forms and reusable validators. Forms only validate; models do the rest."""
