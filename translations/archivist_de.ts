<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE">
<context>
    <name>AddRelaysDialog</name>
    <message>
        <location filename="../ui/add_relays_dialog.cpp" line="+31"/>
        <source>only ws:// and wss:// relays</source>
        <translation>nur ws://- und wss://-Relays</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>user name or password in the URL</source>
        <translation>Benutzername oder Passwort in der URL</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>invalid host</source>
        <translation>ungültiger Host</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>invalid port</source>
        <translation>ungültiger Port</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>a #fragment is not allowed</source>
        <translation>ein #Fragment ist nicht erlaubt</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>URL too long</source>
        <translation>URL zu lang</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>not a URL</source>
        <translation>keine URL</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 (%2)</source>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Add relays</source>
        <translation>Relays hinzufügen</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Paste one or more relay URLs (ws:// or wss://), separated by spaces, commas or new lines:</source>
        <translation>Eine oder mehrere Relay-URLs (ws:// oder wss://) einfügen, getrennt durch Leerzeichen, Kommas oder Zeilenumbrüche:</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>wss://relay.example.com</source>
        <translation>wss://relay.example.com</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Add</source>
        <translation>Hinzufügen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Allow this address…</source>
        <translation>Diese Adresse erlauben…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Add the refused (loopback or private) address to the allow list in config.json</source>
        <translation>Die abgewiesene (Loopback- oder private) Adresse in config.json zu den erlaubten Adressen hinzufügen</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Enter adds the relays; Shift+Enter starts a new line</source>
        <translation>Eingabe fügt die Relays hinzu; Umschalt+Eingabe beginnt eine neue Zeile</translation>
    </message>
    <message>
        <location line="+49"/>
        <source>ignored: at most %1 relays at once</source>
        <translation>ignoriert: höchstens %1 Relays auf einmal</translation>
    </message>
    <message>
        <location line="-9"/>
        <source>listed twice</source>
        <translation>doppelt aufgeführt</translation>
    </message>
    <message>
        <location line="+35"/>
        <source>No relay URLs yet.</source>
        <translation>Noch keine Relay-URLs.</translation>
    </message>
    <message numerus="yes">
        <location line="+1"/>
        <source>%n valid</source>
        <translation>
            <numerusform>%n gültig</numerusform>
            <numerusform>%n gültig</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+1"/>
        <source>%n invalid</source>
        <translation>
            <numerusform>%n ungültig</numerusform>
            <numerusform>%n ungültig</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+3"/>
        <source>Add %n relay(s)</source>
        <translation>
            <numerusform>%n Relay hinzufügen</numerusform>
            <numerusform>%n Relays hinzufügen</numerusform>
        </translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>%1 added</source>
        <translation>%1 hinzugefügt</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 not added — %2</source>
        <translation>%1 nicht hinzugefügt — %2</translation>
    </message>
    <message numerus="yes">
        <location line="+4"/>
        <source>%n added</source>
        <translation>
            <numerusform>%n hinzugefügt</numerusform>
            <numerusform>%n hinzugefügt</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+0"/>
        <source>%n failed</source>
        <translation>
            <numerusform>%n fehlgeschlagen</numerusform>
            <numerusform>%n fehlgeschlagen</numerusform>
        </translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Close</source>
        <translation>Schließen</translation>
    </message>
</context>
<context>
    <name>ArchiveModel</name>
    <message>
        <location filename="../ui/archive_model.cpp" line="+36"/>
        <source>Created (UTC)</source>
        <translation>Erstellt (UTC)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Kind</source>
        <translation>Art</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Author</source>
        <translation>Autor</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Content</source>
        <translation>Inhalt</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>First seen (UTC)</source>
        <translation>Zuerst gesehen (UTC)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Id</source>
        <translation>ID</translation>
    </message>
    <message>
        <location line="+98"/>
        <source>The engine cannot query the archive.</source>
        <translation>Die Engine kann das Archiv nicht abfragen.</translation>
    </message>
</context>
<context>
    <name>ArchivePanel</name>
    <message>
        <location filename="../ui/panels/archive_panel.cpp" line="+74"/>
        <source>Kind &quot;%1&quot; is not a number from 0 to 65535.</source>
        <translation>Art „%1“ ist keine Zahl von 0 bis 65535.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Author &quot;%1&quot; is not an npub, nprofile or 64-character hex key (%2).</source>
        <translation>Autor „%1“ ist weder npub, nprofile noch ein Hex-Schlüssel mit 64 Zeichen (%2).</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Tag &quot;%1&quot; must look like t=value (one letter, &quot;=&quot;, a value).</source>
        <translation>Tag „%1“ muss die Form t=Wert haben (ein Buchstabe, „=“, ein Wert).</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Tag &quot;%1&quot;: an e tag needs an event id (64 hex, note or nevent).</source>
        <translation>Tag „%1“: ein e-Tag braucht eine Event-ID (64 Hex-Zeichen, note oder nevent).</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tag &quot;%1&quot;: a p tag needs a public key (64 hex, npub or nprofile).</source>
        <translation>Tag „%1“: ein p-Tag braucht einen öffentlichen Schlüssel (64 Hex-Zeichen, npub oder nprofile).</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>The start of the time range is after its end.</source>
        <translation>Der Beginn des Zeitraums liegt nach seinem Ende.</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>Kinds, e.g. 1,7</source>
        <translation>Arten, z. B. 1,7</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Authors: npub… or hex</source>
        <translation>Autoren: npub… oder Hex</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tags, e.g. t=nostr e=&lt;id&gt;</source>
        <translation>Tags, z. B. t=nostr e=&lt;id&gt;</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Search the content</source>
        <translation>Im Inhalt suchen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Every word must occur. A word also finds the words it begins (zap: zaps, zapping); a single letter or digit finds only itself. Case and accents are ignored.</source>
        <translation>Jedes Wort muss vorkommen. Ein Wort findet auch die Wörter, die mit ihm beginnen (zap: zaps, zapping); ein einzelner Buchstabe oder eine einzelne Ziffer findet nur sich selbst. Groß- und Kleinschreibung und Akzente werden nicht unterschieden.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>From</source>
        <translation>Von</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>To</source>
        <translation>Bis</translation>
    </message>
    <message>
        <location line="+14"/>
        <location line="+284"/>
        <source>Any relay</source>
        <translation>Alle Relays</translation>
    </message>
    <message>
        <location line="-283"/>
        <source>Apply</source>
        <translation>Anwenden</translation>
    </message>
    <message>
        <location line="+70"/>
        <source>Click Created, Kind or Author to sort. Created sorts the whole archive; Kind and Author sort one month (UTC) at a time: the newest month with a matching event, or the month of &quot;Go to date&quot;.</source>
        <translation>Auf „Erstellt“, „Art“ oder „Autor“ klicken, um zu sortieren. „Erstellt“ sortiert das ganze Archiv; „Art“ und „Autor“ sortieren jeweils einen Monat (UTC): den neuesten Monat mit einem passenden Event oder den Monat von „Zum Datum“.</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>Newest</source>
        <translation>Neueste</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Newest events first, from the newest</source>
        <translation>Neueste Events zuerst, ab dem neuesten</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Oldest</source>
        <translation>Älteste</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Oldest events first, from the oldest</source>
        <translation>Älteste Events zuerst, ab dem ältesten</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Go to date</source>
        <translation>Zum Datum</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Show the events created at this time and (in the current order) after it</source>
        <translation>Die Events ab diesem Zeitpunkt zeigen (in der aktuellen Reihenfolge)</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>Copy as JSON</source>
        <translation>Als JSON kopieren</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Copy as nevent</source>
        <translation>Als nevent kopieren</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Copy as note</source>
        <translation>Als note kopieren</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+6"/>
        <source>Export this filter…</source>
        <translation>Diesen Filter exportieren…</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Query failed: %1</source>
        <translation>Abfrage fehlgeschlagen: %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Loading…</source>
        <translation>Wird geladen…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 rows shown (the limit); narrow the filter to see more.</source>
        <translation>%1 Zeilen angezeigt (die Obergrenze); den Filter eingrenzen, um mehr zu sehen.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 rows shown</source>
        <translation>%1 Zeilen angezeigt</translation>
    </message>
    <message>
        <location line="+40"/>
        <source>Counting…</source>
        <translation>Wird gezählt…</translation>
    </message>
    <message>
        <location line="+40"/>
        <source>kind</source>
        <translation>Art</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>author</source>
        <translation>Autor</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>before 2020</source>
        <translation>vor 2020</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Sorted by %1 within one month (UTC) at a time.</source>
        <translation>Nach %1 sortiert, jeweils innerhalb eines Monats (UTC).</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sorted by %1 within %2 (UTC) — one month at a time; &quot;Go to date&quot; picks another month, &quot;Newest&quot; sorts the whole archive by time again.</source>
        <translation>Nach %1 sortiert innerhalb von %2 (UTC) — jeweils ein Monat; „Zum Datum“ wählt einen anderen Monat, „Neueste“ sortiert wieder das ganze Archiv nach Zeit.</translation>
    </message>
    <message numerus="yes">
        <location line="+10"/>
        <source>%n new event(s) in the archive since this list was loaded — show</source>
        <translation>
            <numerusform>%n neues Event im Archiv, seit diese Liste geladen wurde — anzeigen</numerusform>
            <numerusform>%n neue Events im Archiv, seit diese Liste geladen wurde — anzeigen</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+79"/>
        <source>%n event(s) match</source>
        <translation>
            <numerusform>%n Event passt</numerusform>
            <numerusform>%n Events passen</numerusform>
        </translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Count failed: %1</source>
        <translation>Zählen fehlgeschlagen: %1</translation>
    </message>
    <message>
        <location line="+37"/>
        <source>The event is still loading; try again in a moment.</source>
        <translation>Das Event wird noch geladen; bitte gleich noch einmal versuchen.</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+9"/>
        <location line="+7"/>
        <source>Select an event first.</source>
        <translation>Bitte zuerst ein Event auswählen.</translation>
    </message>
    <message>
        <location line="-12"/>
        <source>Copied the event as JSON.</source>
        <translation>Event als JSON kopiert.</translation>
    </message>
    <message>
        <location line="+7"/>
        <location line="+7"/>
        <source>Copied %1</source>
        <translation>%1 kopiert</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Export events</source>
        <translation>Events exportieren</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>JSON Lines (*.jsonl);;All files (*)</source>
        <translation>JSON Lines (*.jsonl);;Alle Dateien (*)</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Another job is still running.</source>
        <translation>Ein anderer Auftrag läuft noch.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Exporting events…</source>
        <translation>Events werden exportiert…</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Exporting events to %1…</source>
        <translation>Events werden nach %1 exportiert…</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Export failed: %1</source>
        <translation>Export fehlgeschlagen: %1</translation>
    </message>
</context>
<context>
    <name>DirectoryModel</name>
    <message>
        <location filename="../ui/directory_model.cpp" line="+68"/>
        <source>%1 (failed)</source>
        <translation>%1 (fehlgeschlagen)</translation>
    </message>
    <message>
        <location line="-4"/>
        <location line="+1"/>
        <source>%1 ms</source>
        <translation>%1 ms</translation>
    </message>
    <message>
        <location line="-16"/>
        <source>Failures</source>
        <translation>Fehlschläge</translation>
    </message>
    <message>
        <location line="-2"/>
        <source>First seen</source>
        <translation>Zuerst gesehen</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Last error</source>
        <translation>Letzter Fehler</translation>
    </message>
    <message>
        <location line="-7"/>
        <source>Last probe</source>
        <translation>Letzte Prüfung</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Last seen</source>
        <translation>Zuletzt gesehen</translation>
    </message>
    <message>
        <location line="-2"/>
        <source>NIP-11</source>
        <translation>NIP-11</translation>
    </message>
    <message>
        <location line="-2"/>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <location line="-3"/>
        <source>Open RTT</source>
        <translation>RTT Öffnen</translation>
    </message>
    <message>
        <location line="-4"/>
        <source>Pinned</source>
        <translation>Angeheftet</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Read RTT</source>
        <translation>RTT Lesen</translation>
    </message>
    <message>
        <location line="-8"/>
        <source>Relay</source>
        <translation>Relay</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Score</source>
        <translation>Bewertung</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Software</source>
        <translation>Software</translation>
    </message>
    <message>
        <location line="-10"/>
        <source>Source</source>
        <translation>Quelle</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location line="+129"/>
        <source>The directory query failed.</source>
        <translation>Die Abfrage des Verzeichnisses ist fehlgeschlagen.</translation>
    </message>
    <message>
        <location line="-17"/>
        <source>This engine has no relay directory.</source>
        <translation>Diese Engine hat kein Relay-Verzeichnis.</translation>
    </message>
    <message>
        <location line="-109"/>
        <source>Uptime 24 h</source>
        <translation>Verfügbarkeit 24 h</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Uptime 7 d</source>
        <translation>Verfügbarkeit 7 Tage</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>never</source>
        <translation>nie</translation>
    </message>
    <message>
        <location line="-7"/>
        <source>pinned</source>
        <translation>angeheftet</translation>
    </message>
</context>
<context>
    <name>DiscoveryPanel</name>
    <message>
        <location filename="../ui/panels/discovery_panel.cpp" line="+280"/>
        <location line="+2"/>
        <source>%1 %2</source>
        <translation>%1 %2</translation>
    </message>
    <message>
        <location line="-40"/>
        <location line="+20"/>
        <source>%1 (%2)</source>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <location line="-89"/>
        <source>%1 of %2 matching relays loaded</source>
        <translation>%1 von %2 passenden Relays geladen</translation>
    </message>
    <message>
        <location line="+110"/>
        <source>%1 relays in the directory</source>
        <translation>%1 Relays im Verzeichnis</translation>
    </message>
    <message>
        <location line="-79"/>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <location line="-116"/>
        <source>&amp;Add</source>
        <translation>&amp;Hinzufügen</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Block</source>
        <translation>&amp;Blockieren</translation>
    </message>
    <message>
        <location line="-2"/>
        <source>&amp;Pin</source>
        <translation>&amp;Anheften</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Unblock</source>
        <translation>Blockierung a&amp;ufheben</translation>
    </message>
    <message>
        <location line="+153"/>
        <source>Added</source>
        <translation>Hinzugefügt</translation>
    </message>
    <message>
        <location line="-205"/>
        <source>Any source</source>
        <translation>Jede Quelle</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Any status</source>
        <translation>Jeder Status</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Best score first</source>
        <translation>Beste Bewertung zuerst</translation>
    </message>
    <message>
        <location line="+210"/>
        <source>Blocked</source>
        <translation>Blockiert</translation>
    </message>
    <message>
        <location line="-209"/>
        <source>By URL</source>
        <translation>Nach URL</translation>
    </message>
    <message>
        <location line="+211"/>
        <source>Done</source>
        <translation>Erledigt</translation>
    </message>
    <message>
        <location line="-66"/>
        <source>Failed: %1</source>
        <translation>Fehlgeschlagen: %1</translation>
    </message>
    <message>
        <location line="-142"/>
        <source>Include blocked</source>
        <translation>Blockierte einschließen</translation>
    </message>
    <message>
        <location line="-18"/>
        <source>NIP-65 relay list</source>
        <translation>NIP-65-Relay-Liste</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>NIP-66 report</source>
        <translation>NIP-66-Bericht</translation>
    </message>
    <message>
        <location line="+220"/>
        <source>Pinned</source>
        <translation>Angeheftet</translation>
    </message>
    <message>
        <location line="-206"/>
        <source>Recently seen first</source>
        <translation>Zuletzt gesehene zuerst</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>U&amp;npin</source>
        <translation>Anheften &amp;lösen</translation>
    </message>
    <message>
        <location line="-55"/>
        <source>URL contains…</source>
        <translation>URL enthält…</translation>
    </message>
    <message>
        <location line="+235"/>
        <source>Unblocked</source>
        <translation>Blockierung aufgehoben</translation>
    </message>
    <message>
        <location line="-2"/>
        <source>Unpinned</source>
        <translation>Nicht mehr angeheftet</translation>
    </message>
    <message>
        <location line="-67"/>
        <source>and %1 more</source>
        <translation>und %1 weitere</translation>
    </message>
    <message>
        <location line="-158"/>
        <source>command line</source>
        <translation>Kommandozeile</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>config</source>
        <translation>Konfiguration</translation>
    </message>
    <message>
        <location line="+240"/>
        <source>discovered: %1</source>
        <translation>entdeckt: %1</translation>
    </message>
    <message>
        <location line="-42"/>
        <location line="+20"/>
        <source>failed</source>
        <translation>fehlgeschlagen</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>junk rejected: %1</source>
        <translation>unbrauchbar verworfen: %1</translation>
    </message>
    <message>
        <location line="-239"/>
        <source>kind 3 relay map</source>
        <translation>Relay-Tabelle aus Kind 3</translation>
    </message>
    <message>
        <location line="+129"/>
        <source>loading…</source>
        <translation>lädt…</translation>
    </message>
    <message>
        <location line="-134"/>
        <source>seed</source>
        <translation>Startliste</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>tag hint</source>
        <translation>Hinweis in Tags</translation>
    </message>
    <message>
        <location line="-6"/>
        <source>user</source>
        <translation>Benutzer</translation>
    </message>
</context>
<context>
    <name>EventDetailView</name>
    <message>
        <location filename="../ui/event_detail_view.cpp" line="+32"/>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Value</source>
        <translation>Wert</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>More</source>
        <translation>Weitere</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Relay</source>
        <translation>Relay</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>First seen (UTC)</source>
        <translation>Zuerst gesehen (UTC)</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Latency</source>
        <translation>Latenz</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Double-click a one-letter tag to show the events that carry it</source>
        <translation>Doppelklick auf ein Tag mit einem Buchstaben zeigt die Events mit diesem Tag</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>JSON</source>
        <translation>JSON</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tags</source>
        <translation>Tags</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Relays</source>
        <translation>Relays</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>%1%2 s</source>
        <translation>%1%2 s</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1%2 min</source>
        <translation>%1%2 min</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1%2 h</source>
        <translation>%1%2 h</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1%2 d</source>
        <translation>%1%2 d</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Select an event to see its details.</source>
        <translation>Ein Event auswählen, um seine Details zu sehen.</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Loading %1…</source>
        <translation>%1 wird geladen…</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Cannot load the event: %1</source>
        <translation>Das Event kann nicht geladen werden: %1</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The event %1 is not in the archive.</source>
        <translation>Das Event %1 ist nicht im Archiv.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Kind %1 by %2 at %3 UTC</source>
        <translation>Art %1 von %2 am %3 UTC</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Imported from a file: no delivery latency</source>
        <translation>Aus einer Datei importiert: keine Zustell-Latenz</translation>
    </message>
</context>
<context>
    <name>IncidentsModel</name>
    <message>
        <location filename="../ui/incidents_model.cpp" line="+20"/>
        <source>Relay flooding</source>
        <translation>Relay überflutet</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Relay rate-limited</source>
        <translation>Relay drosselt</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Relay stalled</source>
        <translation>Relay steht still</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Invalid-signature spike</source>
        <translation>Häufung ungültiger Signaturen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Auth failures</source>
        <translation>Authentifizierungsfehler</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Address refused</source>
        <translation>Adresse abgelehnt</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Queue near capacity</source>
        <translation>Warteschlange fast voll</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Slow commits</source>
        <translation>Langsame Commits</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Low disk</source>
        <translation>Wenig Speicherplatz</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Write errors</source>
        <translation>Schreibfehler</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>ClickHouse sink behind</source>
        <translation>ClickHouse-Export im Rückstand</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>ClickHouse sink failing</source>
        <translation>ClickHouse-Export schlägt fehl</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Relay state not written</source>
        <translation>Relay-Zustand nicht geschrieben</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Events not asked for</source>
        <translation>Nicht angeforderte Events</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Relay down</source>
        <translation>Relay nicht erreichbar</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Connection refused</source>
        <translation>Verbindung abgewiesen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>DNS failure</source>
        <translation>DNS-Fehler</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Offline: no relay connected</source>
        <translation>Offline: kein Relay verbunden</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Index behind</source>
        <translation>Index im Rückstand</translation>
    </message>
    <message>
        <location line="-7"/>
        <source>Archive damage</source>
        <translation>Archivschaden</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Damaged file set aside</source>
        <translation>Beschädigte Datei beiseitegelegt</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Intake paused</source>
        <translation>Annahme pausiert</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Unknown</source>
        <translation>Unbekannt</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Info</source>
        <translation>Info</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Warning</source>
        <translation>Warnung</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Critical</source>
        <translation>Kritisch</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Firing</source>
        <translation>Aktiv</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Resolved %1</source>
        <translation>Behoben %1</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>Fired %1, latest %2</source>
        <translation>Ausgelöst %1, zuletzt %2</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Resolved %1 (after %2 s)</source>
        <translation>Behoben %1 (nach %2 s)</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>State</source>
        <translation>Zustand</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Fired</source>
        <translation>Ausgelöst</translation>
    </message>
    <message>
        <location line="-2"/>
        <source>Severity</source>
        <translation>Schweregrad</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Kind</source>
        <translation>Art</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Relay</source>
        <translation>Relay</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Count</source>
        <translation>Anzahl</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Message</source>
        <translation>Meldung</translation>
    </message>
</context>
<context>
    <name>IncidentsPanel</name>
    <message>
        <location filename="../ui/panels/incidents_panel.cpp" line="+36"/>
        <source>&amp;Acknowledge</source>
        <translation>&amp;Bestätigen</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Mark the selected alert as seen</source>
        <translation>Den ausgewählten Alarm als gesehen markieren</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Clear acknowledged</source>
        <translation>Bestätigte &amp;entfernen</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Dismiss the acknowledged alerts (a firing condition stays until it resolves; the history is kept)</source>
        <translation>Die bestätigten Alarme ausblenden (ein aktiver Zustand bleibt, bis er behoben ist; der Verlauf bleibt erhalten)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Clear a&amp;ll</source>
        <translation>&amp;Alle entfernen</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Dismiss every alert except firing conditions (the history is kept)</source>
        <translation>Alle Alarme außer aktiven Zuständen ausblenden (der Verlauf bleibt erhalten)</translation>
    </message>
</context>
<context>
    <name>LogModel</name>
    <message>
        <location filename="../ui/log_model.cpp" line="+11"/>
        <source>debug</source>
        <translation>Debug</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>info</source>
        <translation>Info</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>warning</source>
        <translation>Warnung</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>critical</source>
        <translation>kritisch</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>fatal</source>
        <translation>fatal</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Time</source>
        <translation>Zeit</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Level</source>
        <translation>Stufe</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Category</source>
        <translation>Kategorie</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Message</source>
        <translation>Meldung</translation>
    </message>
</context>
<context>
    <name>LogPanel</name>
    <message>
        <location filename="../ui/panels/log_panel.cpp" line="+30"/>
        <source>Category:</source>
        <translation>Kategorie:</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>All</source>
        <translation>Alle</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Level at least:</source>
        <translation>Stufe mindestens:</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>No log is attached.</source>
        <translation>Kein Protokoll angebunden.</translation>
    </message>
    <message numerus="yes">
        <location line="+23"/>
        <source>%n record(s) dropped before display</source>
        <translation>
            <numerusform>%n Eintrag vor der Anzeige verworfen</numerusform>
            <numerusform>%n Einträge vor der Anzeige verworfen</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../ui/main_window.cpp" line="+71"/>
        <source>Archivist</source>
        <translation>Archivist</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>&amp;File</source>
        <translation>&amp;Datei</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Import…</source>
        <translation>&amp;Importieren…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Ctrl+I</source>
        <translation>Ctrl+I</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <location line="-9"/>
        <source>&amp;Fetch events by id…</source>
        <translation>Events nach &amp;ID holen…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Ask the open relays for exactly the events a file of ids lists (such as the missing referenced ids of `archivist coverage --missing`)</source>
        <translation>Die offenen Relays nach genau den Events einer ID-Liste fragen (etwa den fehlenden referenzierten IDs aus `archivist coverage --missing`)</translation>
    </message>
    <message>
        <location line="+508"/>
        <location line="+4"/>
        <location line="+3"/>
        <location line="+91"/>
        <source>Fetch events by id</source>
        <translation>Events nach ID holen</translation>
    </message>
    <message>
        <location line="-93"/>
        <source>Id lists (*.txt *.ids);;All files (*)</source>
        <translation>ID-Listen (*.txt *.ids);;Alle Dateien (*)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Asking the open relays for the ids in %1…</source>
        <translation>Die offenen Relays werden nach den IDs in %1 gefragt…</translation>
    </message>
    <message>
        <location line="-506"/>
        <source>&amp;Relays</source>
        <translation>&amp;Relays</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Add relays…</source>
        <translation>Relays &amp;hinzufügen…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Ctrl+Shift+A</source>
        <translation>Ctrl+Shift+A</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;View</source>
        <translation>&amp;Ansicht</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Reset layout</source>
        <translation>Layout &amp;zurücksetzen</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Help</source>
        <translation>&amp;Hilfe</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Documentation</source>
        <translation>&amp;Dokumentation</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;About Archivist</source>
        <translation>&amp;Über Archivist</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>About &amp;Qt</source>
        <translation>Über &amp;Qt</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Main</source>
        <translation>Hauptleiste</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Offline</source>
        <translation>Offline</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Add relays…</source>
        <translation>Relays hinzufügen…</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>&lt;h2&gt;Your archive is empty&lt;/h2&gt;</source>
        <translation>&lt;h2&gt;Ihr Archiv ist leer&lt;/h2&gt;</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Archivist keeps every event it receives from the relays you choose, verified and stored once. Start one of these ways:</source>
        <translation>Archivist bewahrt jedes Event auf, das es von den gewählten Relays erhält – geprüft und genau einmal gespeichert. Beginnen Sie auf eine dieser Arten:</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Add a relay…</source>
        <translation>Ein Relay hinzufügen…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Import a file…</source>
        <translation>Eine Datei importieren…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Start with the default relays</source>
        <translation>Mit den Standard-Relays beginnen</translation>
    </message>
    <message numerus="yes">
        <location line="+2"/>
        <source>Adds %n well-known public relays</source>
        <translation>
            <numerusform>Fügt %n bekanntes öffentliches Relay hinzu</numerusform>
            <numerusform>Fügt %n bekannte öffentliche Relays hinzu</numerusform>
        </translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&lt;a href=&quot;%1&quot;&gt;How Archivist works&lt;/a&gt;</source>
        <translation>&lt;a href=&quot;%1&quot;&gt;Wie Archivist arbeitet&lt;/a&gt;</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Relays</source>
        <translation>Relays</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Newest events</source>
        <translation>Neueste Events</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Throughput</source>
        <translation>Durchsatz</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Memory</source>
        <translation>Speicher</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Incidents</source>
        <translation>Vorfälle</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Archive</source>
        <translation>Archiv</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>Log</source>
        <translation>Protokoll</translation>
    </message>
    <message>
        <location line="+182"/>
        <source>Layout reset</source>
        <translation>Layout zurückgesetzt</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>About Archivist</source>
        <translation>Über Archivist</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&lt;h3&gt;Archivist %1&lt;/h3&gt;&lt;p&gt;A workstation archive of the Nostr network: it connects to relays, verifies every event, stores each once in a compressed append-only archive with a rebuildable index, and shows what the engine is doing.&lt;/p&gt;&lt;p&gt;&lt;a href=&quot;%2&quot;&gt;Documentation&lt;/a&gt;&lt;/p&gt;</source>
        <translation>&lt;h3&gt;Archivist %1&lt;/h3&gt;&lt;p&gt;Ein Archiv des Nostr-Netzes für den Arbeitsplatz: Es verbindet sich mit Relays, prüft jedes Event, speichert jedes genau einmal in einem komprimierten, nur angehängten Archiv mit wiederherstellbarem Index und zeigt, was die Engine tut.&lt;/p&gt;&lt;p&gt;&lt;a href=&quot;%2&quot;&gt;Dokumentation&lt;/a&gt;&lt;/p&gt;</translation>
    </message>
    <message numerus="yes">
        <location line="+12"/>
        <location line="+71"/>
        <location line="+1"/>
        <source>%n relay(s) added</source>
        <translation>
            <numerusform>%n Relay hinzugefügt</numerusform>
            <numerusform>%n Relays hinzugefügt</numerusform>
        </translation>
    </message>
    <message>
        <location line="-58"/>
        <source>Quit Archivist</source>
        <translation>Archivist beenden</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A job is still running. Quit anyway?

The job is cancelled; what it stored so far is kept. Archivist then finishes writing what is verified (a few seconds).</source>
        <translation>Ein Auftrag läuft noch. Trotzdem beenden?

Der Auftrag wird abgebrochen; was er bisher gespeichert hat, bleibt erhalten. Archivist schreibt danach noch, was bereits geprüft ist (einige Sekunden).</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>cancelling the running job</source>
        <translation>bricht den laufenden Auftrag ab</translation>
    </message>
    <message numerus="yes">
        <location line="+4"/>
        <source>writing %n verified batch(es)</source>
        <translation>
            <numerusform>schreibt %n geprüften Stapel</numerusform>
            <numerusform>schreibt %n geprüfte Stapel</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+1"/>
        <source>closing %n relay connection(s)</source>
        <translation>
            <numerusform>schließt %n Relay-Verbindung</numerusform>
            <numerusform>schließt %n Relay-Verbindungen</numerusform>
        </translation>
    </message>
    <message>
        <location line="+1"/>
        <source>saving relay state</source>
        <translation>sichert den Relay-Zustand</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Archivist is finishing: %1…</source>
        <translation>Archivist wird beendet: %1…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Finishing…</source>
        <translation>Wird beendet…</translation>
    </message>
    <message numerus="yes">
        <location line="+31"/>
        <source>, %n not added (see the dialog)</source>
        <translation>
            <numerusform>, %n nicht hinzugefügt (siehe Dialog)</numerusform>
            <numerusform>, %n nicht hinzugefügt (siehe Dialog)</numerusform>
        </translation>
    </message>
    <message>
        <location line="-257"/>
        <location line="+278"/>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>%1: only the first %2 read</source>
        <translation>%1: nur die ersten %2 gelesen</translation>
    </message>
    <message numerus="yes">
        <location line="+3"/>
        <source>only the first %n files read</source>
        <translation>
            <numerusform>nur die erste Datei gelesen</numerusform>
            <numerusform>nur die ersten %n Dateien gelesen</numerusform>
        </translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Relays: %1 connected / %2 known</source>
        <translation>Relays: %1 verbunden / %2 bekannt</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 stored/s</source>
        <translation>%1 gespeichert/s</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Archive %1</source>
        <translation>Archiv %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>RSS %1</source>
        <translation>RSS %1</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>ClickHouse: %1 events behind (%2 s), %3/s</source>
        <translation>ClickHouse: %1 Events im Rückstand (%2 s), %3/s</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>ClickHouse: caught up, %1/s</source>
        <translation>ClickHouse: aktuell, %1/s</translation>
    </message>
    <message>
        <location line="+2"/>
        <source> — failing: %1</source>
        <translation> — Fehler: %1</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>none</source>
        <translation>keiner</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Writing is paused and being retried: %1</source>
        <translation>Schreiben pausiert, wird erneut versucht: %1</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Offline — no relay is connected. %1</source>
        <translation>Offline – kein Relay ist verbunden. %1</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Import events</source>
        <translation>Events importieren</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Nostr events (*.jsonl *.jsonl.zst *.json *.zst);;All files (*)</source>
        <translation>Nostr-Events (*.jsonl *.jsonl.zst *.json *.zst);;Alle Dateien (*)</translation>
    </message>
    <message>
        <location line="+6"/>
        <location line="+3"/>
        <location line="+121"/>
        <source>Import</source>
        <translation>Import</translation>
    </message>
    <message>
        <location line="-124"/>
        <location line="+9"/>
        <location line="+10"/>
        <location line="+14"/>
        <location line="+16"/>
        <source>Another job is still running.</source>
        <translation>Ein anderer Auftrag läuft noch.</translation>
    </message>
    <message numerus="yes">
        <location line="-46"/>
        <source>Importing %n file(s)…</source>
        <translation>
            <numerusform>%n Datei wird importiert…</numerusform>
            <numerusform>%n Dateien werden importiert…</numerusform>
        </translation>
    </message>
    <message>
        <location line="+67"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <location line="-565"/>
        <source>&amp;Verify archive…</source>
        <translation>Archiv &amp;prüfen…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Rebuild index…</source>
        <translation>Index &amp;neu aufbauen…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Salvage…</source>
        <translation>Ber&amp;gen…</translation>
    </message>
    <message>
        <location line="+541"/>
        <location line="+3"/>
        <location line="+6"/>
        <location line="+6"/>
        <location line="+52"/>
        <source>Salvage</source>
        <translation>Bergen</translation>
    </message>
    <message>
        <location line="-63"/>
        <source>Scan the archive for damaged bytes, move them to the quarantine and store again every event they still hold?

Relays pause while it runs (nothing is dropped). If the index held events in damaged bytes, it is rebuilt. The report says exactly what was recovered and what is lost.</source>
        <translation>Das Archiv nach beschädigten Bytes durchsuchen, sie in die Quarantäne verschieben und jedes Event, das sie noch enthalten, erneut speichern?

Relays pausieren währenddessen (nichts wird verworfen). Enthielt der Index Events in beschädigten Bytes, wird er neu aufgebaut. Der Bericht nennt genau, was geborgen wurde und was verloren ist.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Salvage and accept unreadable losses</source>
        <translation>Bergen und unlesbare Verluste akzeptieren</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Quarantine entries whose bytes cannot be read are marked as accepted losses, so Verify archive passes again.</source>
        <translation>Quarantäne-Einträge, deren Bytes nicht lesbar sind, werden als akzeptierte Verluste markiert, sodass „Archiv prüfen“ wieder besteht.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Salvaging the archive… Relays pause while it runs.</source>
        <translation>Das Archiv wird geborgen… Relays pausieren währenddessen.</translation>
    </message>
    <message>
        <location line="-550"/>
        <source>&amp;Settings…</source>
        <translation>&amp;Einstellungen…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Ctrl+,</source>
        <translation>Ctrl+,</translation>
    </message>
    <message>
        <location line="+493"/>
        <location line="+3"/>
        <location line="+102"/>
        <source>Verify archive</source>
        <translation>Archiv prüfen</translation>
    </message>
    <message>
        <location line="-102"/>
        <source>Verifying the archive against the index… Relays pause while it runs.</source>
        <translation>Das Archiv wird mit dem Index abgeglichen… Relays pausieren währenddessen.</translation>
    </message>
    <message>
        <location line="+21"/>
        <location line="+4"/>
        <location line="+6"/>
        <location line="+72"/>
        <source>Rebuild index</source>
        <translation>Index neu aufbauen</translation>
    </message>
    <message>
        <location line="-77"/>
        <source>Rebuild the index from the archive?

Archiving continues while the new index is built (more slowly); the archive browser keeps using the current index until the new one replaces it. Which relays carried each event is kept where the current index knows it. Cancel leaves the index as it is.</source>
        <translation>Den Index aus dem Archiv neu aufbauen?

Die Archivierung läuft weiter, während der neue Index entsteht (langsamer); der Archiv-Browser nutzt den aktuellen Index, bis der neue ihn ersetzt. Welche Relays ein Event geliefert haben, bleibt erhalten, soweit der aktuelle Index es weiß. Abbrechen lässt den Index unverändert.</translation>
    </message>
    <message>
        <location line="-429"/>
        <source>&amp;Export…</source>
        <translation>&amp;Exportieren…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Ctrl+E</source>
        <translation>Ctrl+E</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Export the events of the archive browser&apos;s filter (all events without one) as JSONL</source>
        <translation>Die Events des Filters im Archiv-Browser (ohne Filter alle Events) als JSONL exportieren</translation>
    </message>
    <message>
        <location line="+431"/>
        <source>Rebuilding the index…</source>
        <translation>Der Index wird neu aufgebaut…</translation>
    </message>
    <message>
        <location line="+50"/>
        <source>Settings saved; they take effect at the next start.</source>
        <translation>Einstellungen gespeichert; sie gelten ab dem nächsten Start.</translation>
    </message>
    <message>
        <location line="-461"/>
        <source>Discovery</source>
        <translation>Entdeckung</translation>
    </message>
    <message>
        <location line="-11"/>
        <source>Scoring</source>
        <translation>Bewertung</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Statistics</source>
        <translation>Statistik</translation>
    </message>
    <message>
        <location line="+342"/>
        <source>; sightings %1 behind</source>
        <translation>; Sichtungen %1 im Rückstand</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>%1
node %2, %3
shipped this run: %4 events, %7 sightings, %5 on the wire
last error: %6</source>
        <translation>%1
Knoten %2, %3
in diesem Lauf exportiert: %4 Events, %7 Sichtungen, %5 übertragen
letzter Fehler: %6</translation>
    </message>
</context>
<context>
    <name>MemoryPanel</name>
    <message>
        <location filename="../ui/panels/memory_panel.cpp" line="+55"/>
        <source>Memory</source>
        <translation>Speicher</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>MiB</source>
        <translation>MiB</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Resident (RSS)</source>
        <translation>Arbeitsspeicher (RSS)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Heap in use</source>
        <translation>Belegter Heap</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+19"/>
        <source>SQLite heap</source>
        <translation>SQLite-Heap</translation>
    </message>
    <message>
        <location line="-11"/>
        <source>Queues and caches</source>
        <translation>Warteschlangen und Caches</translation>
    </message>
    <message>
        <location line="+73"/>
        <source>%1 / %2 MiB</source>
        <translation>%1 / %2 MiB</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>%1 MiB, no limit</source>
        <translation>%1 MiB, keine Grenze</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SQLite&apos;s page caches, statements and sorters, every connection together: %1 MiB in use, at most %2 MiB since start; soft limit %3 MiB (sqlite_heap_limit_bytes in config.json)</source>
        <translation>Seitencaches, Anweisungen und Sortierpuffer von SQLite, alle Verbindungen zusammen: %1 MiB belegt, seit dem Start höchstens %2 MiB; weiche Grenze %3 MiB (sqlite_heap_limit_bytes in config.json)</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>%1 / %2</source>
        <translation>%1 / %2</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1: %2 of %3 (%4 %)</source>
        <translation>%1: %2 von %3 (%4 %)</translation>
    </message>
</context>
<context>
    <name>NewestEventsModel</name>
    <message>
        <location filename="../ui/newest_events_model.cpp" line="+30"/>
        <source>Created (UTC)</source>
        <translation>Erstellt (UTC)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Kind</source>
        <translation>Art</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Author</source>
        <translation>Autor</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Content</source>
        <translation>Inhalt</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Source</source>
        <translation>Quelle</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Id</source>
        <translation>ID</translation>
    </message>
</context>
<context>
    <name>NewestPanel</name>
    <message>
        <location filename="../ui/panels/newest_panel.cpp" line="+25"/>
        <source>Archive</source>
        <translation>Archiv</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Events stored:</source>
        <translation>Gespeicherte Events:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Archive size:</source>
        <translation>Archivgröße:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Throughput:</source>
        <translation>Durchsatz:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Memory:</source>
        <translation>Speicher:</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>%1 stored/s, %2 duplicate/s, %3 rejected/s</source>
        <translation>%1 gespeichert/s, %2 doppelt/s, %3 abgelehnt/s</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>, %1 queue %2/%3</source>
        <translation>, Warteschlange „%1“ %2/%3</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 resident, %2 heap</source>
        <translation>%1 Arbeitsspeicher (RSS), %2 Heap</translation>
    </message>
</context>
<context>
    <name>RelayPropertiesView</name>
    <message>
        <location filename="../ui/relay_properties_view.cpp" line="+72"/>
        <source>NIP-11 document…</source>
        <translation>NIP-11-Dokument…</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Alerts for this relay:</source>
        <translation>Alarme zu diesem Relay:</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>Select a relay to see its properties.</source>
        <translation>Ein Relay auswählen, um seine Eigenschaften zu sehen.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Not in the pool.</source>
        <translation>Nicht im Pool.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stored/s</source>
        <translation>Gespeichert/s</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>RTT</source>
        <translation>RTT</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>—</source>
        <translation>—</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Source: %1%2</source>
        <translation>Quelle: %1%2</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>, pinned</source>
        <translation>, angeheftet</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>State since: %1</source>
        <translation>Zustand seit: %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Connected since: %1</source>
        <translation>Verbunden seit: %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Next attempt: %1</source>
        <translation>Nächster Versuch: %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Last error: %1</source>
        <translation>Letzter Fehler: %1</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+44"/>
        <source>none</source>
        <translation>keiner</translation>
    </message>
    <message>
        <location line="-43"/>
        <source>Last notice: %1</source>
        <translation>Letzte Notiz: %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Events: %1 received, %2 stored, %3 duplicate, %4 invalid, %5 refused</source>
        <translation>Events: %1 empfangen, %2 gespeichert, %3 doppelt, %4 ungültig, %5 zurückgewiesen</translation>
    </message>
    <message>
        <location line="+6"/>
        <source> %1 %</source>
        <translation> %1 %</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>, reached %1</source>
        <translation>, erreicht %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Backfill: %1 (%2 queries, %3 gaps)</source>
        <translation>Nachladen: %1 (%2 Abfragen, %3 Lücken)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Live: %1%2</source>
        <translation>Live: %1%2</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>catching up</source>
        <translation>holt auf</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>following</source>
        <translation>folgt</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>, cursor %1</source>
        <translation>, Cursor %1</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>limit %1</source>
        <translation>Limit %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>auth required</source>
        <translation>Anmeldung nötig</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>payment required</source>
        <translation>Bezahlung nötig</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>NIP-77</source>
        <translation>NIP-77</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>NIP-11: %1</source>
        <translation>NIP-11: %1</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>no document</source>
        <translation>kein Dokument</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Score: %1, uptime 24 h: %2</source>
        <translation>Bewertung: %1, Verfügbarkeit 24 h: %2</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>not scored</source>
        <translation>nicht bewertet</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>unknown</source>
        <translation>unbekannt</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>%1 %</source>
        <translation>%1 %</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Stored/s, last %1 s (now %2)</source>
        <translation>Gespeichert/s, letzte %1 s (jetzt %2)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>RTT, last %1 s (now %2 ms)</source>
        <translation>RTT, letzte %1 s (jetzt %2 ms)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>RTT, last %1 s (not connected)</source>
        <translation>RTT, letzte %1 s (nicht verbunden)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>%1 — %2 — %3</source>
        <translation>%1 — %2 — %3</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>firing since %1</source>
        <translation>aktiv seit %1</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>resolved %1</source>
        <translation>behoben %1</translation>
    </message>
</context>
<context>
    <name>RelaysModel</name>
    <message>
        <location filename="../ui/relays_model.cpp" line="+29"/>
        <source>candidate</source>
        <translation>Kandidat</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>resolving</source>
        <translation>Namensauflösung</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>fetching NIP-11</source>
        <translation>NIP-11 wird abgerufen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>connecting</source>
        <translation>verbindet</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>connected</source>
        <translation>verbunden</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>backing off</source>
        <translation>wartet vor erneutem Versuch</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>failing</source>
        <translation>fehlerhaft</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>address refused</source>
        <translation>Adresse abgelehnt</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>restricted</source>
        <translation>eingeschränkt</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>blocked</source>
        <translation>blockiert</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>stopped</source>
        <translation>angehalten</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>not started</source>
        <translation>nicht gestartet</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>waiting</source>
        <translation>wartet</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>running</source>
        <translation>läuft</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>done</source>
        <translation>fertig</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>off</source>
        <translation>aus</translation>
    </message>
    <message>
        <location line="+68"/>
        <source>Events stored per second, moving average over the last %1 s</source>
        <translation>Pro Sekunde gespeicherte Events, gleitender Mittelwert über die letzten %1 s</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Relay</source>
        <translation>Relay</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Connected since</source>
        <translation>Verbunden seit</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stored/s</source>
        <translation>Gespeichert/s</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Novel</source>
        <translation>Neu</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Duplicates</source>
        <translation>Duplikate</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Rejected</source>
        <translation>Abgelehnt</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>RTT</source>
        <translation>RTT</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Last error</source>
        <translation>Letzter Fehler</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Source</source>
        <translation>Quelle</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Backfill</source>
        <translation>Nachladen</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>%1 %</source>
        <translation>%1 %</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>%1 ms</source>
        <translation>%1 ms</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>%1 %2 %</source>
        <translation>%1 %2 %</translation>
    </message>
    <message>
        <location line="+63"/>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>auth failures: %1</source>
        <translation>Authentifizierungsfehler: %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>rate-limited by the relay: %1</source>
        <translation>vom Relay gedrosselt: %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>paused by our flood limit: %1</source>
        <translation>von unserer Flut-Grenze angehalten: %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>unparseable messages: %1</source>
        <translation>unlesbare Nachrichten: %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>No rejections</source>
        <translation>Keine Ablehnungen</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>Notice: %1</source>
        <translation>Hinweis: %1</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>%1 (%2)</source>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <location line="-134"/>
        <source>Pinned</source>
        <translation>Angeheftet</translation>
    </message>
    <message>
        <location line="-2"/>
        <source>Score</source>
        <translation>Bewertung</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Uptime 24 h</source>
        <translation>Verfügbarkeit 24 h</translation>
    </message>
    <message>
        <location line="+34"/>
        <source>pinned</source>
        <translation>angeheftet</translation>
    </message>
    <message>
        <location line="-108"/>
        <source>not on a subscription we opened</source>
        <translation>auf keinem von uns geöffneten Abonnement</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>outside the subscription&apos;s filter</source>
        <translation>außerhalb des Filters des Abonnements</translation>
    </message>
    <message>
        <location line="+173"/>
        <source>%1 (%2): %3</source>
        <translation>%1 (%2): %3</translation>
    </message>
    <message>
        <location line="-98"/>
        <source>Sync</source>
        <translation>Abgleich</translation>
    </message>
    <message>
        <location line="+34"/>
        <source>NIP-77</source>
        <translation>NIP-77</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>REQ</source>
        <translation>REQ</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>REQ (NIP-77 unusable)</source>
        <translation>REQ (NIP-77 unbrauchbar)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>, reconciling %1 %</source>
        <translation>, Abgleich %1 %</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>, %1 late</source>
        <translation>, %1 verspätet</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>, %1 gaps</source>
        <translation>, %1 Lücken</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Method: %1</source>
        <translation>Verfahren: %1</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>NIP-77 reconciliation</source>
        <translation>NIP-77-Abgleich</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>REQ pagination</source>
        <translation>REQ-Seitenabfrage</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>NIP-77 support (judged by behaviour): %1</source>
        <translation>NIP-77-Unterstützung (nach Verhalten beurteilt): %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Why: %1</source>
        <translation>Grund: %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tried again after: %1</source>
        <translation>Neuer Versuch nach: %1</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Last reconciliation of the whole history: %1</source>
        <translation>Letzter Abgleich der gesamten Historie: %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>never</source>
        <translation>nie</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Found missing and fetched (this run): %1</source>
        <translation>Als fehlend gefunden und geholt (dieser Lauf): %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Late events (older than the live cursor when found): %1</source>
        <translation>Verspätete Events (beim Fund älter als der Live-Cursor): %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Windows: %1, halved after a size refusal: %2</source>
        <translation>Fenster: %1, nach Größenablehnung halbiert: %2</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Gaps: %1</source>
        <translation>Lücken: %1</translation>
    </message>
</context>
<context>
    <name>RelaysPanel</name>
    <message>
        <location filename="../ui/panels/relays_panel.cpp" line="+41"/>
        <source>Filter relays (URL, status, error, source)…</source>
        <translation>Relays filtern (URL, Status, Fehler, Quelle)…</translation>
    </message>
    <message>
        <location line="+47"/>
        <source>&amp;Connect</source>
        <translation>&amp;Verbinden</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Disconnect</source>
        <translation>&amp;Trennen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Block</source>
        <translation>&amp;Blockieren</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Unblock</source>
        <translation>Blockierung &amp;aufheben</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Back&amp;fill now</source>
        <translation>&amp;Jetzt nachladen</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Allow this address…</source>
        <translation>Diese Adresse &amp;erlauben…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The address policy refused this relay&apos;s address: add it to the allow list</source>
        <translation>Die Adressrichtlinie hat die Adresse dieses Relays abgewiesen: zu den erlaubten Adressen hinzufügen</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>&amp;Remove</source>
        <translation>&amp;Entfernen</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Stop and unpin the relay; it is not added again at the next start (its history stays)</source>
        <translation>Das Relay anhalten und lösen; beim nächsten Start wird es nicht wieder hinzugefügt (sein Verlauf bleibt)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Copy &amp;URL</source>
        <translation>&amp;URL kopieren</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Show &amp;NIP-11 document…</source>
        <translation>&amp;NIP-11-Dokument anzeigen…</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Copied %1</source>
        <translation>%1 kopiert</translation>
    </message>
    <message>
        <location line="+70"/>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>failed</source>
        <translation>fehlgeschlagen</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Connecting to %1</source>
        <translation>Verbinde mit %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Disconnected from %1</source>
        <translation>Von %1 getrennt</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Blocked %1</source>
        <translation>%1 blockiert</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Unblocked %1</source>
        <translation>Blockierung von %1 aufgehoben</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Backfill of %1 started</source>
        <translation>Nachladen von %1 gestartet</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Removed %1</source>
        <translation>%1 entfernt</translation>
    </message>
    <message>
        <location line="+12"/>
        <location line="+7"/>
        <source>No NIP-11 document is stored for %1.</source>
        <translation>Für %1 ist kein NIP-11-Dokument gespeichert.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>NIP-11 document of %1</source>
        <translation>NIP-11-Dokument von %1</translation>
    </message>
    <message>
        <location line="-138"/>
        <source>P&amp;in (never dropped by the optimizer)</source>
        <translation>An&amp;heften (vom Optimierer nie entfernt)</translation>
    </message>
    <message>
        <location line="+112"/>
        <source>Pinned %1</source>
        <translation>%1 angeheftet</translation>
    </message>
    <message>
        <location line="-111"/>
        <source>Un&amp;pin</source>
        <translation>Anheften &amp;lösen</translation>
    </message>
    <message>
        <location line="+112"/>
        <source>Unpinned %1</source>
        <translation>%1 nicht mehr angeheftet</translation>
    </message>
</context>
<context>
    <name>ScoringModel</name>
    <message>
        <location filename="../ui/scoring_model.cpp" line="+13"/>
        <source>%1 %</source>
        <translation>%1 %</translation>
    </message>
    <message>
        <location line="+56"/>
        <source>%1 (floor)</source>
        <translation>%1 (Untergrenze)</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>%1 ms</source>
        <translation>%1 ms</translation>
    </message>
    <message>
        <location line="-47"/>
        <source>1 = fast round trips</source>
        <translation>1 = schnelle Umlaufzeiten</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>1 = nothing rejected</source>
        <translation>1 = nichts abgelehnt</translation>
    </message>
    <message>
        <location line="-2"/>
        <source>Blend of the 24 h and 7 d uptime (0 … 1)</source>
        <translation>Mischung der Verfügbarkeit über 24 h und 7 Tage (0 … 1)</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Confidence</source>
        <translation>Konfidenz</translation>
    </message>
    <message>
        <location line="-7"/>
        <source>Connected</source>
        <translation>Verbunden</translation>
    </message>
    <message>
        <location line="-8"/>
        <source>Decaying bonus for relays not tried much yet</source>
        <translation>Abklingender Bonus für wenig erprobte Relays</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Exploration</source>
        <translation>Erkundung</translation>
    </message>
    <message>
        <location line="+60"/>
        <source>Held at the floor: a seed or pinned relay</source>
        <translation>Auf der Untergrenze gehalten: ein Start- oder angeheftetes Relay</translation>
    </message>
    <message>
        <location line="-63"/>
        <source>Latency</source>
        <translation>Latenz</translation>
    </message>
    <message>
        <location line="-18"/>
        <source>Novel-event rate relative to the network median (0 … 1)</source>
        <translation>Rate neuer Events relativ zum Median des Netzes (0 … 1)</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Novel/h</source>
        <translation>Neu/h</translation>
    </message>
    <message>
        <location line="-6"/>
        <source>Novelty</source>
        <translation>Neuheit</translation>
    </message>
    <message>
        <location line="-2"/>
        <source>Pinned</source>
        <translation>Angeheftet</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>RTT</source>
        <translation>RTT</translation>
    </message>
    <message>
        <location line="-6"/>
        <source>Rejection</source>
        <translation>Ablehnung</translation>
    </message>
    <message>
        <location line="-8"/>
        <source>Relay</source>
        <translation>Relay</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Score</source>
        <translation>Bewertung</translation>
    </message>
    <message>
        <location line="+67"/>
        <source>Source: %1</source>
        <translation>Quelle: %1</translation>
    </message>
    <message>
        <location line="-70"/>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Uptime</source>
        <translation>Verfügbarkeit</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Uptime 24 h</source>
        <translation>Verfügbarkeit 24 h</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Uptime 7 d</source>
        <translation>Verfügbarkeit 7 Tage</translation>
    </message>
    <message>
        <location line="-20"/>
        <source>Weight of the observations against the cold-start prior</source>
        <translation>Gewicht der Beobachtungen gegenüber der Startannahme</translation>
    </message>
    <message>
        <location line="-5"/>
        <source>What the optimizer ranks by (docs/relay-scoring.md)</source>
        <translation>Wonach der Optimierer ordnet (docs/relay-scoring.md)</translation>
    </message>
    <message>
        <location line="+37"/>
        <source>pinned</source>
        <translation>angeheftet</translation>
    </message>
    <message>
        <location line="-1"/>
        <source>yes</source>
        <translation>ja</translation>
    </message>
</context>
<context>
    <name>ScoringPanel</name>
    <message>
        <location filename="../ui/panels/scoring_panel.cpp" line="+33"/>
        <source>%1 min %2 s</source>
        <translation>%1 min %2 s</translation>
    </message>
    <message>
        <location line="+113"/>
        <source>%1 of %2 connected</source>
        <translation>%1 von %2 verbunden</translation>
    </message>
    <message>
        <location line="-114"/>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <location line="+97"/>
        <source>No optimizer cycle yet</source>
        <translation>Noch kein Optimierer-Durchlauf</translation>
    </message>
    <message>
        <location line="-62"/>
        <location line="+25"/>
        <source>Relays</source>
        <translation>Relays</translation>
    </message>
    <message>
        <location line="-27"/>
        <source>Score distribution</source>
        <translation>Verteilung der Bewertungen</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Score (bucket start; each bucket 0.1 wide)</source>
        <translation>Bewertung (Klassenbeginn; jede Klasse 0,1 breit)</translation>
    </message>
    <message>
        <location line="+66"/>
        <source>last cycle %1</source>
        <translation>letzter Durchlauf %1</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>optimizer off: only the relays named are connected</source>
        <translation>Optimierer aus: nur die genannten Relays werden verbunden</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>next cycle in %1</source>
        <translation>nächster Durchlauf in %1</translation>
    </message>
    <message>
        <location line="-5"/>
        <source>no cycle yet</source>
        <translation>noch kein Durchlauf</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="+57"/>
        <source>Settings</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Settings are saved to config.json in the data directory. The engine reads it at start: changes marked ⟳ take effect at the next start of Archivist.</source>
        <translation>Die Einstellungen werden in config.json im Datenverzeichnis gespeichert. Die Engine liest sie beim Start: mit ⟳ markierte Änderungen gelten ab dem nächsten Start von Archivist.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>General</source>
        <translation>Allgemein</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Data directory:</source>
        <translation>Datenverzeichnis:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>To use another data directory, start Archivist with --data-dir DIR (takes effect at that start).</source>
        <translation>Für ein anderes Datenverzeichnis Archivist mit --data-dir VERZEICHNIS starten (gilt ab diesem Start).</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>System</source>
        <translation>System</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Language ⟳:</source>
        <translation>Sprache ⟳:</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Relays ⟳</source>
        <translation>Relays ⟳</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Also connect to the built-in list of well-known relays</source>
        <translation>Auch mit der eingebauten Liste bekannter Relays verbinden</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Most relays at once:</source>
        <translation>Höchstens gleichzeitig verbundene Relays:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Network threads:</source>
        <translation>Netzwerk-Threads:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source> events/s</source>
        <translation> Events/s</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Per-relay event limit:</source>
        <translation>Event-Grenze je Relay:</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>one CIDR per line, e.g. 10.0.0.0/8</source>
        <translation>ein CIDR je Zeile, z. B. 10.0.0.0/8</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Allowed addresses:</source>
        <translation>Erlaubte Adressen:</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>What to archive ⟳</source>
        <translation>Was archiviert wird ⟳</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>NIP-01 filter, e.g. {&quot;kinds&quot;:[0,1,3]}; empty = everything</source>
        <translation>NIP-01-Filter, z. B. {&quot;kinds&quot;:[0,1,3]}; leer = alles</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Subscription filter:</source>
        <translation>Abonnement-Filter:</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Fetch relays&apos; history (backfill)</source>
        <translation>Verlauf der Relays nachladen (Backfill)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source> days</source>
        <translation> Tage</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+80"/>
        <location line="+3"/>
        <source>everything</source>
        <translation>alles</translation>
    </message>
    <message>
        <location line="-82"/>
        <source>Backfill depth:</source>
        <translation>Nachlade-Tiefe:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Events per backfill query:</source>
        <translation>Events je Nachlade-Abfrage:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Relays backfilling at once:</source>
        <translation>Gleichzeitig nachladende Relays:</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Monitoring ⟳</source>
        <translation>Überwachung ⟳</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>HOST:PORT, e.g. 127.0.0.1:9100; empty = off</source>
        <translation>HOST:PORT, z. B. 127.0.0.1:9100; leer = aus</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Metrics listen address:</source>
        <translation>Adresse für Metriken:</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>In effect now (config.json at start + command line)</source>
        <translation>Jetzt wirksam (config.json beim Start + Befehlszeile)</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Save and restart</source>
        <translation>Speichern und neu starten</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Save, finish the running work, and start Archivist again with the same command line</source>
        <translation>Speichern, die laufende Arbeit abschließen und Archivist mit derselben Befehlszeile neu starten</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>(none)</source>
        <translation>(keine)</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>This engine has no configuration file; nothing can be saved.</source>
        <translation>Diese Engine hat keine Konfigurationsdatei; es kann nichts gespeichert werden.</translation>
    </message>
    <message>
        <location line="+103"/>
        <source>Filter: not valid JSON at character %1: %2</source>
        <translation>Filter: kein gültiges JSON bei Zeichen %1: %2</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Filter: must be one JSON object such as {&quot;kinds&quot;:[1]}.</source>
        <translation>Filter: muss ein JSON-Objekt sein, etwa {&quot;kinds&quot;:[1]}.</translation>
    </message>
    <message>
        <location line="-86"/>
        <location line="+88"/>
        <source>Filter: %1</source>
        <translation>Filter: %1</translation>
    </message>
    <message>
        <location line="-195"/>
        <source>e.g. 8 MiB, 512 KiB, 0 = no limit</source>
        <translation>z. B. 8 MiB, 512 KiB, 0 = keine Grenze</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bytes per second: a number with an optional unit (B, KiB, MiB, GiB; k, M, G)</source>
        <translation>Bytes pro Sekunde: eine Zahl mit optionaler Einheit (B, KiB, MiB, GiB; k, M, G)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Per-relay byte limit (per second):</source>
        <translation>Byte-Grenze je Relay (pro Sekunde):</translation>
    </message>
    <message>
        <location line="+95"/>
        <source>none</source>
        <translation>keine</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>no</source>
        <translation>nein</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Relays always connected: %1</source>
        <translation>Immer verbundene Relays: %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Allowed addresses: %1</source>
        <translation>Erlaubte Adressen: %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Default relays: %1; optimizer chooses relays: %2</source>
        <translation>Standard-Relays: %1; Optimierer wählt Relays: %2</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Most relays at once: %1; network threads: %2</source>
        <translation>Höchstens gleichzeitige Relays: %1; Netzwerk-Threads: %2</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Per-relay limits: %1 events/s, %2/s</source>
        <translation>Grenzen je Relay: %1 Events/s, %2/s</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Backfill: %1</source>
        <translation>Nachladen: %1</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>on, %1, %2 events per query, %3 relays at once</source>
        <translation>an, %1, %2 Events je Abfrage, %3 Relays gleichzeitig</translation>
    </message>
    <message numerus="yes">
        <location line="+1"/>
        <source>%n day(s) deep</source>
        <translation>
            <numerusform>%n Tag tief</numerusform>
            <numerusform>%n Tage tief</numerusform>
        </translation>
    </message>
    <message>
        <location line="+4"/>
        <location line="+1"/>
        <source>off</source>
        <translation>aus</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Metrics: %1</source>
        <translation>Metriken: %1</translation>
    </message>
    <message>
        <location line="+63"/>
        <source>Byte limit: a whole number from 0 to %1 is needed, or a size such as 8 MiB.</source>
        <translation>Byte-Grenze: eine ganze Zahl von 0 bis %1 oder eine Größe wie 8 MiB ist nötig.</translation>
    </message>
    <message>
        <location line="+30"/>
        <source>Allowed addresses, line %1 (&quot;%2&quot;): %3</source>
        <translation>Erlaubte Adressen, Zeile %1 („%2“): %3</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Metrics listen address: %1</source>
        <translation>Adresse für Metriken: %1</translation>
    </message>
    <message>
        <location line="+38"/>
        <source>Not saved: %1</source>
        <translation>Nicht gespeichert: %1</translation>
    </message>
</context>
<context>
    <name>StatisticsPanel</name>
    <message>
        <location filename="../ui/panels/statistics_panel.cpp" line="+141"/>
        <source>Coverage of referenced events (e, q tags) by month</source>
        <translation>Abdeckung referenzierter Events (e-, q-Tags) nach Monat</translation>
    </message>
    <message>
        <location line="+133"/>
        <source>Coverage of referenced events: %1</source>
        <translation>Abdeckung referenzierter Events: %1</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Coverage of referenced events: %1 of %2 held (%3 %), as of %4</source>
        <translation>Abdeckung referenzierter Events: %1 von %2 vorhanden (%3 %), Stand %4</translation>
    </message>
    <message numerus="yes">
        <location line="-3"/>
        <source>Coverage of referenced events: computing %n month(s)…</source>
        <translation>
            <numerusform>Abdeckung referenzierter Events: %n Monat wird berechnet…</numerusform>
            <numerusform>Abdeckung referenzierter Events: %n Monate werden berechnet…</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+9"/>
        <source> · %n month(s) changed since, being computed again</source>
        <translation>
            <numerusform> · %n Monat seitdem geändert, wird neu berechnet</numerusform>
            <numerusform> · %n Monate seitdem geändert, werden neu berechnet</numerusform>
        </translation>
    </message>
    <message>
        <location line="-7"/>
        <source>Coverage of referenced events: no event of this range references one</source>
        <translation>Abdeckung referenzierter Events: kein Event dieses Zeitraums referenziert eines</translation>
    </message>
    <message>
        <location line="+31"/>
        <source>%1: %2 of %3 referenced ids held (%4 %), as of %5</source>
        <translation>%1: %2 von %3 referenzierten IDs vorhanden (%4 %), Stand %5</translation>
    </message>
    <message>
        <location line="-22"/>
        <source>Held</source>
        <translation>Vorhanden</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Missing</source>
        <translation>Fehlend</translation>
    </message>
    <message>
        <location line="+32"/>
        <source>Referenced ids</source>
        <translation>Referenzierte IDs</translation>
    </message>
    <message>
        <location line="-75"/>
        <source>%1 events · read in %2 ms, drawn in %3 ms</source>
        <translation>%1 Events · gelesen in %2 ms, gezeichnet in %3 ms</translation>
    </message>
    <message>
        <location line="-117"/>
        <source>Active authors per day</source>
        <translation>Aktive Autoren pro Tag</translation>
    </message>
    <message>
        <location line="-29"/>
        <source>All</source>
        <translation>Alles</translation>
    </message>
    <message>
        <location line="+510"/>
        <source>CSV files (*.csv)</source>
        <translation>CSV-Dateien (*.csv)</translation>
    </message>
    <message>
        <location line="-429"/>
        <source>CSV…</source>
        <translation>CSV…</translation>
    </message>
    <message>
        <location line="+432"/>
        <source>Could not write %1</source>
        <translation>%1 konnte nicht geschrieben werden</translation>
    </message>
    <message>
        <location line="-498"/>
        <source>Count each event on the UTC day it reached the archive instead of the day of its created_at</source>
        <translation>Jedes Event am UTC-Tag zählen, an dem es das Archiv erreichte, statt am Tag seines created_at</translation>
    </message>
    <message>
        <location line="-14"/>
        <source>Custom</source>
        <translation>Benutzerdefiniert</translation>
    </message>
    <message>
        <location line="+394"/>
        <source>Dated in the future</source>
        <translation>In die Zukunft datiert</translation>
    </message>
    <message>
        <location line="-382"/>
        <source>Day of first sighting</source>
        <translation>Tag der ersten Sichtung</translation>
    </message>
    <message>
        <location line="+292"/>
        <source>Distinct authors (exact)</source>
        <translation>Verschiedene Autoren (exakt)</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Distinct authors (≈: HyperLogLog estimate on busy days)</source>
        <translation>Verschiedene Autoren (≈: HyperLogLog-Schätzung an vollen Tagen)</translation>
    </message>
    <message>
        <location line="+81"/>
        <source>Distinct sources that carried the event</source>
        <translation>Verschiedene Quellen, die das Event lieferten</translation>
    </message>
    <message>
        <location line="-42"/>
        <source>Duplicate</source>
        <translation>Duplikat</translation>
    </message>
    <message>
        <location line="-26"/>
        <location line="+54"/>
        <source>Events</source>
        <translation>Events</translation>
    </message>
    <message>
        <location line="-343"/>
        <source>Events per day by kind</source>
        <translation>Events pro Tag nach Kind</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Kinds</source>
        <translation>Kinds</translation>
    </message>
    <message>
        <location line="-32"/>
        <source>Last 24 hours</source>
        <translation>Letzte 24 Stunden</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Last 30 days</source>
        <translation>Letzte 30 Tage</translation>
    </message>
    <message>
        <location line="-1"/>
        <source>Last 7 days</source>
        <translation>Letzte 7 Tage</translation>
    </message>
    <message>
        <location line="+345"/>
        <source>Novel (first to deliver)</source>
        <translation>Neu (als Erstes geliefert)</translation>
    </message>
    <message>
        <location line="+167"/>
        <source>PNG images (*.png)</source>
        <translation>PNG-Bilder (*.png)</translation>
    </message>
    <message>
        <location line="-430"/>
        <source>PNG…</source>
        <translation>PNG…</translation>
    </message>
    <message>
        <location line="-49"/>
        <source>Publication delay (first seen − created_at)</source>
        <translation>Veröffentlichungsverzug (zuerst gesehen − created_at)</translation>
    </message>
    <message>
        <location line="-12"/>
        <source>Range:</source>
        <translation>Zeitraum:</translation>
    </message>
    <message>
        <location line="+112"/>
        <source>Reading…</source>
        <translation>Wird gelesen…</translation>
    </message>
    <message>
        <location line="-101"/>
        <source>Relay contribution</source>
        <translation>Beitrag der Relays</translation>
    </message>
    <message>
        <location line="+478"/>
        <source>Save numbers as CSV</source>
        <translation>Zahlen als CSV speichern</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Save plot as PNG</source>
        <translation>Diagramm als PNG speichern</translation>
    </message>
    <message>
        <location line="-426"/>
        <source>Save this plot as a PNG image</source>
        <translation>Dieses Diagramm als PNG-Bild speichern</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Save this plot&apos;s numbers as CSV (the output of `archivist stats --format csv`)</source>
        <translation>Die Zahlen dieses Diagramms als CSV speichern (die Ausgabe von `archivist stats --format csv`)</translation>
    </message>
    <message>
        <location line="+430"/>
        <source>Saved %1</source>
        <translation>%1 gespeichert</translation>
    </message>
    <message>
        <location line="-117"/>
        <source>Seen after created_at</source>
        <translation>Nach created_at gesehen</translation>
    </message>
    <message>
        <location line="-366"/>
        <source>Sources per event (replication)</source>
        <translation>Quellen pro Event (Replikation)</translation>
    </message>
    <message>
        <location line="+101"/>
        <source>This engine keeps no statistics.</source>
        <translation>Diese Engine führt keine Statistiken.</translation>
    </message>
    <message>
        <location line="+282"/>
        <source>first seen − created_at (bins double in width)</source>
        <translation>zuerst gesehen − created_at (jede Klasse doppelt so breit)</translation>
    </message>
    <message>
        <location line="-90"/>
        <source>kind %1</source>
        <translation>Kind %1</translation>
    </message>
    <message numerus="yes">
        <location line="-47"/>
        <source>%n days</source>
        <translation>
            <numerusform>%n Tag</numerusform>
            <numerusform>%n Tage</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>SwapsModel</name>
    <message>
        <location filename="../ui/swaps_model.cpp" line="+30"/>
        <source>Added</source>
        <translation>Hinzugefügt</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Reason</source>
        <translation>Grund</translation>
    </message>
    <message>
        <location line="-4"/>
        <source>Removed</source>
        <translation>Entfernt</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+2"/>
        <source>Score</source>
        <translation>Bewertung</translation>
    </message>
    <message>
        <location line="-4"/>
        <source>Time</source>
        <translation>Zeit</translation>
    </message>
</context>
<context>
    <name>ThroughputPanel</name>
    <message>
        <location filename="../ui/panels/throughput_panel.cpp" line="+27"/>
        <source>Events per second (moving average over %1 s)</source>
        <translation>Events pro Sekunde (gleitender Mittelwert über %1 s)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Time</source>
        <translation>Zeit</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Events/s</source>
        <translation>Events/s</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Events/s (log)</source>
        <translation>Events/s (log.)</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Stored</source>
        <translation>Gespeichert</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Duplicate</source>
        <translation>Doppelt</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Rejected</source>
        <translation>Abgelehnt</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Shipped to ClickHouse</source>
        <translation>Nach ClickHouse exportiert</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Selected time</source>
        <translation>Ausgewählter Zeitpunkt</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Log scale</source>
        <translation>Logarithmische Skala</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A logarithmic value axis: a backfill&apos;s burst and live ingest on one chart</source>
        <translation>Eine logarithmische Werteachse: der Schub beim Nachladen und der Live-Eingang in einem Diagramm</translation>
    </message>
    <message>
        <location line="+151"/>
        <source>Time (%1)</source>
        <translation>Zeit (%1)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Time (%1 – %2)</source>
        <translation>Zeit (%1 – %2)</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>The selected time (%1) is outside this chart&apos;s window.</source>
        <translation>Der ausgewählte Zeitpunkt (%1) liegt außerhalb des Zeitfensters dieses Diagramms.</translation>
    </message>
</context>
<context>
    <name>archivist::ui::AllowAddress</name>
    <message>
        <location filename="../ui/allow_address.cpp" line="+41"/>
        <source>No address to allow was found for %1.</source>
        <translation>Für %1 wurde keine Adresse zum Erlauben gefunden.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>This engine has no configuration file to save the allow list in.</source>
        <translation>Diese Engine hat keine Konfigurationsdatei, in der die erlaubten Adressen gespeichert werden könnten.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Allow this address</source>
        <translation>Diese Adresse erlauben</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 was refused because its address %2 is not public (loopback or private).

Allow %2? Archivist will then connect to relays at this address, starting now. It is added to the allowed addresses in config.json.</source>
        <translation>%1 wurde abgewiesen, weil seine Adresse %2 nicht öffentlich ist (Loopback oder privat).

%2 erlauben? Archivist verbindet sich dann ab sofort mit Relays unter dieser Adresse. Sie wird in config.json zu den erlaubten Adressen hinzugefügt.</translation>
    </message>
    <message>
        <location line="+7"/>
        <location line="+6"/>
        <source>Not saved: %1</source>
        <translation>Nicht gespeichert: %1</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>%1 saved to the allowed addresses; it takes effect at the next start (%2).</source>
        <translation>%1 zu den erlaubten Adressen gespeichert; wirkt ab dem nächsten Start (%2).</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>%1 added to the allowed addresses; relays at this address are retried now.</source>
        <translation>%1 zu den erlaubten Adressen hinzugefügt; Relays unter dieser Adresse werden jetzt erneut versucht.</translation>
    </message>
</context>
<context>
    <name>archivist::ui::StartFailure</name>
    <message>
        <location filename="../ui/start_failure.cpp" line="+27"/>
        <source>Archivist cannot start</source>
        <translation>Archivist kann nicht starten</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The data directory %1 is in use by another Archivist.</source>
        <translation>Das Datenverzeichnis %1 wird von einem anderen Archivist benutzt.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Held by process %1.</source>
        <translation>Belegt von Prozess %1.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Close that window (it may still be finishing its work) or stop that process, then start again — or start with --data-dir and another directory.</source>
        <translation>Schließen Sie jenes Fenster (es beendet vielleicht noch seine Arbeit) oder beenden Sie jenen Prozess und starten Sie erneut – oder starten Sie mit --data-dir und einem anderen Verzeichnis.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The engine could not open %1.</source>
        <translation>Die Engine konnte %1 nicht öffnen.</translation>
    </message>
</context>
</TS>
