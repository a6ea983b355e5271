<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en_US">
<context>
    <name>AddRelaysDialog</name>
    <message numerus="yes">
        <location filename="../ui/add_relays_dialog.cpp" line="+126"/>
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
        <location line="+26"/>
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
        <location filename="../ui/panels/archive_panel.cpp" line="+321"/>
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
        <location filename="../ui/main_window.cpp" line="+248"/>
        <location line="+1"/>
        <source>%n relay(s) added</source>
        <translation>
            <numerusform>%n relay added</numerusform>
            <numerusform>%n relays added</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="-1"/>
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
        <location line="+25"/>
        <source>Importing %n file(s)…</source>
        <translation>
            <numerusform>Importing %n file…</numerusform>
            <numerusform>Importing %n files…</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>StatisticsPanel</name>
    <message numerus="yes">
        <source>%n days</source>
        <translation>
            <numerusform>%n day</numerusform>
            <numerusform>%n days</numerusform>
        </translation>
    </message>
</context>
</TS>
