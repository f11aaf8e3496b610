"""Ticket texts: per-category templates and sentiment phrases in four languages.

Texts are composed from small pools so that generation is a vectorised index lookup, and
every pool entry's sentiment (`extracts.lexicon.sentiment_score`, what ingestion computes)
is known up front, so the planted description sentiment is what ingestion recovers, up to
combining the parts (docs/text_signals.md). Tone phrases carry two sentiment words or an
intensifier; category sentences state the problem, and those that report a failure ("does
not load", "charged twice") read negative as a customer's would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from extracts.contracts import CATEGORIES
from extracts.lexicon import sentiment_score

LANGUAGES = ("en", "es", "de", "fr")
POLARITIES = ("negative", "neutral", "positive")

SUBJECTS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "billing": ("Invoice question", "Charged twice", "Billing address update"),
        "technical": ("Dashboard not loading", "Reports stuck in processing", "Page timeouts"),
        "account_access": ("Cannot log in", "SSO login loop", "Admin account locked"),
        "how_to": ("How to schedule exports", "Restrict dashboard access", "Set up automations"),
        "bug": ("Empty export file", "Activity log time zone", "Workflow condition lost"),
        "integration": ("CRM sync not running", "Webhook errors", "Slack alerts stopped"),
        "feature_request": ("PDF export for dashboards", "Custom profile fields", "Dark mode"),
    },
    "es": {
        "billing": ("Consulta sobre factura", "Cobro duplicado", "Datos de facturación"),
        "technical": ("El panel no carga", "Informes atascados", "Errores de tiempo de espera"),
        "account_access": ("No puedo entrar", "Bucle de acceso SSO", "Cuenta bloqueada"),
        "how_to": ("Programar exportaciones", "Limitar acceso al panel", "Automatizaciones"),
        "bug": ("Exportación vacía", "Hora del registro", "Se pierde una condición"),
        "integration": ("Sincronización CRM detenida", "Errores del webhook", "Alertas de Slack"),
        "feature_request": ("Exportar paneles a PDF", "Campos personalizados", "Modo oscuro"),
    },
    "de": {
        "billing": ("Frage zur Rechnung", "Doppelte Abbuchung", "Rechnungsadresse ändern"),
        "technical": ("Dashboard lädt nicht", "Berichte hängen", "Zeitüberschreitungen"),
        "account_access": ("Anmeldung nicht möglich", "SSO-Schleife", "Admin-Konto gesperrt"),
        "how_to": ("Exporte planen", "Zugriff beschränken", "Automatisierungen einrichten"),
        "bug": ("Leere Exportdatei", "Zeitzone im Protokoll", "Bedingung geht verloren"),
        "integration": ("CRM-Sync läuft nicht", "Webhook-Fehler", "Slack-Benachrichtigungen"),
        "feature_request": ("PDF-Export für Dashboards", "Eigene Profilfelder", "Dunkler Modus"),
    },
    "fr": {
        "billing": ("Question sur une facture", "Double facturation", "Adresse de facturation"),
        "technical": ("Tableau de bord bloqué", "Rapports bloqués", "Erreurs de délai"),
        "account_access": ("Connexion impossible", "Boucle de connexion SSO", "Compte bloqué"),
        "how_to": ("Planifier des exports", "Limiter l'accès", "Configurer des automatisations"),
        "bug": ("Export vide", "Décalage horaire du journal", "Condition perdue"),
        "integration": ("Synchro CRM arrêtée", "Erreurs de webhook", "Alertes Slack absentes"),
        "feature_request": ("Export PDF", "Champs personnalisés", "Mode sombre"),
    },
}

CORES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "billing": (
            "We were charged twice for the same period on our last invoice.",
            "The invoice lists more seats than we have in the account.",
            "Please update the billing address and the VAT number on our invoices.",
        ),
        "technical": (
            "The dashboard does not load and the page times out after a minute.",
            "Reports are stuck in the processing state since this morning.",
            "We see timeouts when we open the analytics page from the office network.",
        ),
        "account_access": (
            "One of our users cannot log in after the password reset.",
            "The SSO login sends us back to the sign-in page in a loop.",
            "We need to unlock an admin account that was locked after several attempts.",
        ),
        "how_to": (
            "How can we schedule a weekly export of the tickets report?",
            "Is there a way to restrict dashboard access to one team?",
            "We want to know how to set up automations for new tickets.",
        ),
        "bug": (
            "The export button creates an empty file for reports with filters.",
            "Dates in the activity log are shown one hour off from our time zone.",
            "Saving a workflow with two conditions drops the second condition.",
        ),
        "integration": (
            "The CRM sync has not run since yesterday and the records are out of date.",
            "Our webhook to the data warehouse returns an error for every event.",
            "The Slack integration stopped posting alerts to our channel.",
        ),
        "feature_request": (
            "We would like to export dashboards as PDF files.",
            "Could you add custom fields to the user profile?",
            "Dark mode in the mobile app would help our team.",
        ),
    },
    "es": {
        "billing": (
            "Nos han cobrado dos veces el mismo periodo en la última factura.",
            "La factura incluye más licencias de las que tenemos en la cuenta.",
            "Por favor, actualicen la dirección de facturación y el número fiscal.",
        ),
        "technical": (
            "El panel no carga y la página se queda colgada después de un minuto.",
            "Los informes están atascados en procesamiento desde esta mañana.",
            "Hay errores de tiempo de espera al abrir la página de análisis.",
        ),
        "account_access": (
            "Uno de nuestros usuarios no puede entrar después del cambio de contraseña.",
            "El inicio de sesión con SSO vuelve a la página de acceso una y otra vez.",
            "Necesitamos desbloquear una cuenta de administrador bloqueada por varios intentos.",
        ),
        "how_to": (
            "¿Cómo podemos programar una exportación semanal del informe?",
            "¿Hay forma de limitar el acceso al panel a un solo equipo?",
            "Queremos saber cómo configurar automatizaciones para los tickets nuevos.",
        ),
        "bug": (
            "El botón de exportar genera un archivo vacío con filtros.",
            "Las fechas del registro de actividad aparecen con una hora de diferencia.",
            "Al guardar un flujo con dos condiciones se pierde la segunda.",
        ),
        "integration": (
            "La sincronización con el CRM no se ejecuta desde ayer.",
            "El webhook hacia nuestro almacén de datos devuelve errores en cada evento.",
            "La integración con Slack dejó de enviar alertas al canal.",
        ),
        "feature_request": (
            "Nos gustaría exportar los paneles en PDF.",
            "¿Pueden añadir campos personalizados al perfil del usuario?",
            "Sería muy práctico tener modo oscuro en la aplicación móvil.",
        ),
    },
    "de": {
        "billing": (
            "Wir wurden für denselben Zeitraum auf der letzten Rechnung doppelt belastet.",
            "Die Rechnung enthält mehr Lizenzen als wir im Konto haben.",
            "Bitte aktualisieren Sie die Rechnungsadresse und die Steuernummer.",
        ),
        "technical": (
            "Das Dashboard lädt nicht und die Seite bricht nach einer Minute ab.",
            "Die Berichte hängen seit heute Morgen in der Verarbeitung.",
            "Beim Öffnen der Analyseseite bekommen wir Zeitüberschreitungen.",
        ),
        "account_access": (
            "Ein Benutzer kann sich nach dem Zurücksetzen des Passworts nicht anmelden.",
            "Die SSO-Anmeldung leitet immer wieder auf die Login-Seite zurück.",
            "Wir müssen ein gesperrtes Administratorkonto entsperren.",
        ),
        "how_to": (
            "Wie können wir einen wöchentlichen Export des Ticketberichts planen?",
            "Kann man den Zugriff auf ein Dashboard für ein Team beschränken?",
            "Wir möchten wissen, wie man Automatisierungen für neue Tickets einrichtet.",
        ),
        "bug": (
            "Der Export-Button erzeugt eine leere Datei, wenn Filter gesetzt sind.",
            "Die Zeiten im Aktivitätsprotokoll sind um eine Stunde verschoben.",
            "Beim Speichern eines Workflows mit zwei Bedingungen geht die zweite verloren.",
        ),
        "integration": (
            "Die CRM-Synchronisierung läuft seit gestern nicht mehr.",
            "Unser Webhook zum Data Warehouse liefert bei jedem Ereignis einen Fehler.",
            "Die Slack-Integration sendet keine Benachrichtigungen mehr an unseren Kanal.",
        ),
        "feature_request": (
            "Wir hätten gerne einen PDF-Export für Dashboards.",
            "Bitte ergänzt eigene Felder im Profil für uns.",
            "Ein dunkler Modus in der mobilen App wäre für unser Team praktisch.",
        ),
    },
    "fr": {
        "billing": (
            "Nous avons été facturés deux fois pour la même période sur la dernière facture.",
            "La facture compte plus de licences que nous en avons.",
            "Veuillez mettre à jour le numéro de TVA sur nos factures.",
        ),
        "technical": (
            "Le tableau de bord ne charge pas et la page expire après une minute.",
            "Les rapports sont bloqués en traitement depuis ce matin.",
            "Nous avons des erreurs de délai en ouvrant la page d'analyse.",
        ),
        "account_access": (
            "Un utilisateur de notre équipe ne peut plus se connecter depuis la réinitialisation.",
            "La connexion SSO nous renvoie sans cesse sur la page de connexion.",
            "Nous devons débloquer un compte administrateur bloqué après plusieurs essais.",
        ),
        "how_to": (
            "Comment planifier un export hebdomadaire du rapport des tickets ?",
            "Est-il possible de limiter l'accès à un tableau de bord pour une équipe ?",
            "Nous voudrions savoir comment configurer des automatisations pour les tickets.",
        ),
        "bug": (
            "Le bouton d'export crée un fichier vide avec des filtres.",
            "Les heures du journal d'activité sont décalées d'une heure.",
            "En enregistrant un workflow avec deux conditions, la seconde est perdue.",
        ),
        "integration": (
            "La synchronisation CRM ne tourne plus depuis hier.",
            "Notre webhook vers l'entrepôt de données renvoie une erreur pour chaque événement.",
            "L'intégration Slack ne publie plus les alertes dans notre canal.",
        ),
        "feature_request": (
            "Nous aimerions exporter les tableaux de bord en PDF.",
            "Pourriez-vous ajouter des champs personnalisés au profil utilisateur ?",
            "Un mode sombre dans l'application mobile serait très pratique pour notre équipe.",
        ),
    },
}

OPENERS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "negative": (
            "This is really frustrating and we are losing time, awful.",
            "Honestly, this is totally unacceptable and frustrating.",
            "We are very disappointed and annoyed with how this has been handled.",
            "I am annoyed, this is the worst week we have had with the product.",
        ),
        "neutral": ("Hello team,", "Hi support,", "Hello,", "Hi there,"),
        "positive": (
            "Thanks for the great product so far.",
            "We love the new release, great work.",
            "Hope you are well, the last update was excellent and very helpful.",
            "First of all, thank you for the great and helpful onboarding.",
        ),
    },
    "es": {
        "negative": (
            "Esto es muy frustrante y estamos perdiendo tiempo.",
            "Sinceramente, la situación es totalmente inaceptable y frustrante.",
            "Estamos muy decepcionados, el soporte es lamentable.",
            "Estoy harto, es el peor mes con la herramienta.",
        ),
        "neutral": ("Hola equipo,", "Buenos días,", "Hola,", "Estimado soporte,"),
        "positive": (
            "Gracias por el excelente producto.",
            "Estamos muy contentos con la nueva versión, es excelente.",
            "Primero, muchas gracias por la ayuda tan rápida y amable de siempre.",
            "El equipo es genial, enhorabuena.",
        ),
    },
    "de": {
        "negative": (
            "Das ist wirklich ärgerlich und frustrierend, wir verlieren Zeit.",
            "Ehrlich gesagt ist das völlig inakzeptabel und ärgerlich.",
            "Wir sind sehr enttäuscht und verärgert von der Bearbeitung.",
            "Ich bin verärgert, das ist eine Katastrophe für uns.",
        ),
        "neutral": ("Hallo zusammen,", "Guten Tag,", "Hallo Support-Team,", "Sehr geehrte Damen,"),
        "positive": (
            "Danke für das großartige Produkt.",
            "Wir sind mit dem neuen Release sehr zufrieden, es ist großartig.",
            "Vorab vielen Dank, der Support ist immer hilfreich.",
            "Ihr seid super und sehr hilfreich, weiter so.",
        ),
    },
    "fr": {
        "negative": (
            "C'est vraiment frustrant et déplorable, nous perdons du temps.",
            "Honnêtement, cette situation est totalement inacceptable et frustrante.",
            "Je suis très déçu et agacé du traitement de notre demande.",
            "Je suis agacé, c'est la pire semaine avec l'outil.",
        ),
        "neutral": ("Bonjour,", "Bonjour l'équipe,", "Madame, Monsieur,", "Bonjour le support,"),
        "positive": (
            "Merci pour cet excellent produit.",
            "Nous sommes ravis de la nouvelle version, elle est excellente.",
            "Tout d'abord merci, le support est toujours très efficace et agréable.",
            "Votre équipe est formidable et très efficace.",
        ),
    },
}

CLOSERS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "negative": (
            "Please fix this today, it is a terrible and frustrating experience.",
            "If nothing changes this week we are cancelling our plan, this is unacceptable.",
            "Still broken after two attempts, awful.",
            "This is ridiculous and a complete waste of our time, awful.",
        ),
        "neutral": (
            "Can you take a look?",
            "Please advise.",
            "Let me know if you need anything from us.",
            "Could you check this for us?",
        ),
        "positive": (
            "Thanks a lot for your great help!",
            "Appreciate the quick and excellent support as always.",
            "You are awesome, thank you.",
            "Glad to have such a reliable and helpful team behind us.",
        ),
    },
    "es": {
        "negative": (
            "Por favor, arreglen esto ya, es un desastre lamentable.",
            "Si no se soluciona vamos a cancelar el contrato, es inaceptable.",
            "Sigue roto después de dos intentos, es lamentable.",
            "Es ridículo y frustrante, estamos perdiendo el tiempo.",
        ),
        "neutral": (
            "¿Pueden revisarlo?",
            "Quedo atento a su respuesta.",
            "Por favor, avísenme si necesitan algo.",
            "¿Nos pueden ayudar?",
        ),
        "positive": (
            "¡Muchas gracias por la ayuda, excelente!",
            "Muy agradecido como siempre por el soporte tan eficiente.",
            "Son increíbles, gracias.",
            "Muy contentos de contar con un equipo tan eficiente.",
        ),
    },
    "de": {
        "negative": (
            "Bitte beheben Sie das sofort, die Lage ist schrecklich und ärgerlich.",
            "Wenn sich nichts ändert, werden wir kündigen, das ist inakzeptabel.",
            "Immer noch kaputt nach zwei Versuchen, furchtbar.",
            "Das ist lächerlich und reine Zeitverschwendung.",
        ),
        "neutral": (
            "Können Sie sich das ansehen?",
            "Bitte um Rückmeldung.",
            "Sagen Sie Bescheid, falls Sie etwas von uns brauchen.",
            "Könnten Sie das für uns prüfen?",
        ),
        "positive": (
            "Vielen Dank für die Hilfe, danke!",
            "Danke für den schnellen und hervorragenden Support wie immer.",
            "Ihr seid klasse, danke.",
            "Der Support ist zuverlässig und freundlich, danke.",
        ),
    },
    "fr": {
        "negative": (
            "Corrigez cela au plus vite, c'est inadmissible et déplorable.",
            "Si rien ne change, nous allons résilier notre contrat, c'est inacceptable.",
            "Toujours en panne après deux essais, c'est déplorable.",
            "C'est ridicule et frustrant, nous perdons notre temps.",
        ),
        "neutral": (
            "Pouvez-vous regarder ?",
            "Dans l'attente de votre retour.",
            "Dites-nous si vous avez besoin d'autre chose.",
            "Pourriez-vous vérifier pour nous ?",
        ),
        "positive": (
            "Merci beaucoup pour votre aide excellente !",
            "Merci pour le support rapide et efficace, comme toujours.",
            "Vous êtes géniaux, merci.",
            "Ravi de travailler avec une équipe aussi efficace.",
        ),
    },
}

REPLIES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "negative": (
            "Still not working, this is frustrating.",
            "Your answer did not solve anything, really disappointed.",
            "This is getting worse every day.",
            "We are losing time with this, unacceptable.",
        ),
        "neutral": (
            "Here is the screenshot you asked for.",
            "I attached the logs from this morning.",
            "Any update on this?",
            "We tried the steps, please check again.",
        ),
        "positive": (
            "Thanks, that worked!",
            "Perfect, thank you for the quick answer.",
            "Great, it is running again.",
            "Thanks a lot, all good now.",
        ),
    },
    "es": {
        "negative": (
            "Sigue sin funcionar, es frustrante.",
            "Su respuesta no ha servido de nada, estoy decepcionado.",
            "Cada día está peor.",
            "Estamos perdiendo tiempo, es inaceptable.",
        ),
        "neutral": (
            "Adjunto la captura que pidieron.",
            "Les envío los registros de esta mañana.",
            "¿Hay alguna novedad?",
            "Hemos probado los pasos, por favor revisen de nuevo.",
        ),
        "positive": (
            "Gracias, ya funciona.",
            "Perfecto, gracias por la respuesta rápida.",
            "Genial, todo vuelve a la normalidad.",
            "Muchas gracias, problema resuelto.",
        ),
    },
    "de": {
        "negative": (
            "Es geht immer noch nicht, wir sind frustriert.",
            "Ihre Antwort hat nichts gebracht, ich bin enttäuscht.",
            "Es wird jeden Tag schlechter.",
            "Wir verlieren Zeit damit, das ist inakzeptabel.",
        ),
        "neutral": (
            "Hier ist der Screenshot, den Sie angefragt haben.",
            "Ich habe die Logs von heute Morgen angehängt.",
            "Gibt es schon Neuigkeiten?",
            "Wir haben die Schritte ausprobiert, bitte prüfen Sie noch einmal.",
        ),
        "positive": (
            "Danke, es funktioniert wieder!",
            "Perfekt, danke für die schnelle Antwort.",
            "Super, jetzt ist alles gut.",
            "Vielen Dank, Problem gelöst.",
        ),
    },
    "fr": {
        "negative": (
            "Ça ne marche toujours pas, c'est frustrant.",
            "Votre réponse n'a rien réglé, je suis déçu.",
            "C'est pire chaque jour.",
            "Nous perdons du temps, c'est inacceptable.",
        ),
        "neutral": (
            "Voici la capture d'écran demandée.",
            "Je joins les journaux de ce matin.",
            "Avez-vous du nouveau ?",
            "Nous avons suivi les étapes, pouvez-vous vérifier à nouveau ?",
        ),
        "positive": (
            "Merci, ça fonctionne !",
            "Parfait, merci pour la réponse rapide.",
            "Super, tout est rentré dans l'ordre.",
            "Merci beaucoup, problème résolu.",
        ),
    },
}


@dataclass(frozen=True)
class Pool:
    """A family of phrases flattened for vectorised lookup.

    Group `g` (a language x category or language x polarity cell) owns entries
    `offset[g] .. offset[g] + count[g]`; `score_sum` is each entry's own sentiment score and
    `score_n` 1 where it is not 0, so the mean over a composed text's scored parts (what the
    generator plants) is known without tokenising it; ingestion scores the whole text,
    which tracks that mean closely (tests/test_generator.py measures how closely).
    """

    texts: pa.Array
    offset: np.ndarray
    count: np.ndarray
    score_sum: np.ndarray
    score_n: np.ndarray

    def pick(self, group: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Entry index for each (group, uniform draw) pair."""
        return self.offset[group] + (u * self.count[group]).astype(np.int64)


def _pool(cells: list[tuple[str, tuple[str, ...]]]) -> Pool:
    """Pool of (language, phrases) cells; each phrase scored as ingestion would score it."""
    flat = [(lang, text) for lang, cell in cells for text in cell]
    counts = np.array([len(cell) for _, cell in cells], dtype=np.int64)
    scores = np.array([sentiment_score(text, lang) for lang, text in flat])
    return Pool(
        texts=pa.array([text for _, text in flat], pa.string()),
        offset=np.concatenate([[0], np.cumsum(counts)[:-1]]),
        count=counts,
        score_sum=scores,
        score_n=(scores != 0).astype(np.int64),
    )


def _by_category(table: dict[str, dict[str, tuple[str, ...]]]) -> Pool:
    """Groups indexed `language * len(CATEGORIES) + category`."""
    return _pool([(lang, table[lang][cat]) for lang in LANGUAGES for cat in CATEGORIES])


def _by_polarity(table: dict[str, dict[str, tuple[str, ...]]]) -> Pool:
    """Groups indexed `language * 3 + polarity`."""
    return _pool([(lang, table[lang][pol]) for lang in LANGUAGES for pol in POLARITIES])


SUBJECT_POOL = _by_category(SUBJECTS)
CORE_POOL = _by_category(CORES)
OPENER_POOL = _by_polarity(OPENERS)
CLOSER_POOL = _by_polarity(CLOSERS)
REPLY_POOL = _by_polarity(REPLIES)
