@echo off
rem machinecode.bat - prints this computer's machine code for bulk activation.
rem
rem Output: exactly one line, "<machine code><TAB><computer name>" (%COMPUTERNAME%).
rem Cryptolens' admin-tools machinecodescriptsha256.bat put a space there instead; the
rem bulk-activation page accepts both.
rem
rem The machine code equals what the official clients compute on this computer:
rem   .NET    Helpers.GetMachineCodePI(v: 2)
rem   Python  licensing.methods.Helpers.GetMachineCode(v=2)   (on Windows)
rem i.e. SHA-256 (UTF-8 bytes, lower-case hex) of the SMBIOS UUID printed by
rem   powershell -Command "(Get-CimInstance -Class Win32_ComputerSystemProduct).UUID"
rem trimmed, or, when that prints nothing, of the registry value MachineGuid under
rem HKLM\SOFTWARE\Microsoft\Cryptography, as both clients fall back to.
rem
rem For machines where running script files is blocked: PowerShell is only asked for that one
rem value, exactly as the clients ask it, and CertUtil -hashfile SHA256 computes the hash.
rem wmic csproduct is deliberately not used: current Windows 11 no longer has it, and where
rem PowerShell cannot answer, the clients use MachineGuid rather than wmic.
rem
rem Usage: machinecode.bat >> \\server\share\codes.txt

setlocal EnableExtensions DisableDelayedExpansion

set "seed="
for /f "usebackq tokens=*" %%U in (`powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command "(Get-CimInstance -Class Win32_ComputerSystemProduct).UUID" 2^>nul`) do (
    if not defined seed set "seed=%%U"
)
rem The 64-bit registry view first: a 32-bit cmd would otherwise read WOW6432Node, which has none.
if not defined seed call :machineguid /reg:64
if not defined seed call :machineguid
if not defined seed (
    >&2 echo machinecode.bat: no SMBIOS UUID and no MachineGuid: cannot compute a machine code
    exit /b 1
)

rem SHA-256 step: the seed, without a line break, into a file that CertUtil hashes.
set "seedfile=%TEMP%\machinecode-%RANDOM%%RANDOM%.txt"
<nul set /p "=%seed%" > "%seedfile%"
set "hash="
for /f "skip=1 tokens=*" %%H in ('certutil -hashfile "%seedfile%" SHA256') do (
    if not defined hash set "hash=%%H"
)
del "%seedfile%" >nul 2>&1

rem Older CertUtil prints the digest as spaced, sometimes upper-case, byte pairs.
if not defined hash goto nohash
set "hash=%hash: =%"
for %%L in (a b c d e f) do call set "hash=%%hash:%%L=%%L%%"
if "%hash:~63,1%"=="" goto nohash
if not "%hash:~64%"=="" goto nohash
echo %hash%| findstr /r /x "[0123456789abcdef]*" >nul || goto nohash

echo(%hash%	%COMPUTERNAME%
endlocal
exit /b 0

:nohash
>&2 echo machinecode.bat: CertUtil -hashfile SHA256 failed
exit /b 1

:machineguid
for /f "tokens=2,*" %%A in ('reg query "HKLM\SOFTWARE\Microsoft\Cryptography" /v MachineGuid %~1 2^>nul ^| findstr /i /c:"MachineGuid"') do set "seed=%%B"
exit /b 0
