<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en_US">
<context>
    <name>AddRelaysDialog</name>
    <message numerus="yes">
        <location filename="../ui/add_relays_dialog.cpp" line="+159"/>
        <source>%n valid</source>
        <translation>
            <numerusform>%n valid</numerusform>
            <numerusform>%n valid</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+1"/>
        <source>%n invalid</source>
        <translation>
            <numerusform>%n invalid</numerusform>
            <numerusform>%n invalid</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+3"/>
        <source>Add %n relay(s)</source>
        <translation>
            <numerusform>Add %n relay</numerusform>
            <numerusform>Add %n relays</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+27"/>
        <source>%n added</source>
        <translation>
            <numerusform>%n added</numerusform>
            <numerusform>%n added</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+0"/>
        <source>%n failed</source>
        <translation>
            <numerusform>%n failed</numerusform>
            <numerusform>%n failed</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ArchivePanel</name>
    <message numerus="yes">
        <location filename="../ui/panels/archive_panel.cpp" line="+415"/>
        <source>%n new event(s) in the archive since this list was loaded — show</source>
        <translation>
            <numerusform>%n new event in the archive since this list was loaded — show</numerusform>
            <numerusform>%n new events in the archive since this list was loaded — show</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+79"/>
        <source>%n event(s) match</source>
        <translation>
            <numerusform>%n event matches</numerusform>
            <numerusform>%n events match</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>LogPanel</name>
    <message numerus="yes">
        <location filename="../ui/panels/log_panel.cpp" line="+86"/>
        <source>%n record(s) dropped before display</source>
        <translation>
            <numerusform>%n record dropped before display</numerusform>
            <numerusform>%n records dropped before display</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message numerus="yes">
        <location filename="../ui/main_window.cpp" line="+162"/>
        <source>Adds %n well-known public relays</source>
        <translation>
            <numerusform>Adds %n well-known public relay</numerusform>
            <numerusform>Adds %n well-known public relays</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+262"/>
        <location line="+71"/>
        <location line="+1"/>
        <source>%n relay(s) added</source>
        <translation>
            <numerusform>%n relay added</numerusform>
            <numerusform>%n relays added</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="-38"/>
        <source>writing %n verified batch(es)</source>
        <translation>
            <numerusform>writing %n verified batch</numerusform>
            <numerusform>writing %n verified batches</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+1"/>
        <source>closing %n relay connection(s)</source>
        <translation>
            <numerusform>closing %n relay connection</numerusform>
            <numerusform>closing %n relay connections</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+36"/>
        <source>, %n not added (see the dialog)</source>
        <translation>
            <numerusform>, %n not added (see the dialog)</numerusform>
            <numerusform>, %n not added (see the dialog)</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+27"/>
        <source>only the first %n files read</source>
        <translation>
            <numerusform>only the first file read</numerusform>
            <numerusform>only the first %n files read</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+57"/>
        <source>Importing %n file(s)…</source>
        <translation>
            <numerusform>Importing %n file…</numerusform>
            <numerusform>Importing %n files…</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message numerus="yes">
        <location filename="../ui/settings_dialog.cpp" line="+208"/>
        <source>%n day(s) deep</source>
        <translation>
            <numerusform>%n day deep</numerusform>
            <numerusform>%n days deep</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>StatisticsPanel</name>
    <message numerus="yes">
        <location filename="../ui/panels/statistics_panel.cpp" line="+286"/>
        <source>Coverage of referenced events: computing %n month(s)…</source>
        <translation>
            <numerusform>Coverage of referenced events: computing %n month…</numerusform>
            <numerusform>Coverage of referenced events: computing %n months…</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+9"/>
        <source> · %n month(s) changed since, being computed again</source>
        <translation>
            <numerusform> · %n month changed since, being computed again</numerusform>
            <numerusform> · %n months changed since, being computed again</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+90"/>
        <source>%n days</source>
        <translation>
            <numerusform>%n day</numerusform>
            <numerusform>%n days</numerusform>
        </translation>
    </message>
</context>
</TS>
